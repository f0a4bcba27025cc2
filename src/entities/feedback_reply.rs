use sea_orm::entity::prelude::*;

/// An officer's reply to a resident, sent by e-mail, with the resident's follow-up answer.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback_replies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub response_id: i64,
    pub author_id: i64,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub created_at: DateTimeUtc,
    pub followup_due_at: DateTimeUtc,
    pub followup_enqueued_at: Option<DateTimeUtc>,
    /// `yes` or `no`.
    pub resolved: Option<String>,
    pub answered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
