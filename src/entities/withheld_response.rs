use sea_orm::entity::prelude::*;

/// A response withheld from its ward because its text names misconduct by the police; the
/// ward sees it once a province or ministry user releases it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "withheld_responses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub response_id: i64,
    pub ward_code: String,
    /// The misconduct keywords found, comma-separated, as configured.
    pub keywords: String,
    pub withheld_at: DateTimeUtc,
    pub released_at: Option<DateTimeUtc>,
    /// The e-mail of the user who released it.
    pub released_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
