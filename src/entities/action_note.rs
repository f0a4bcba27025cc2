use sea_orm::entity::prelude::*;

/// A ward's note on what it did about what residents raised ("Anh/chị nói, chúng tôi làm"),
/// shown on the ward's public results page once approved.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "action_notes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ward_code: String,
    /// `YYYY-Qn` or `YYYY-MM`.
    pub period: String,
    pub body: String,
    /// `pending`, `approved` or `rejected`.
    pub state: String,
    pub author_id: i64,
    pub created_at: DateTimeUtc,
    pub reviewer_id: Option<i64>,
    pub reviewed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
