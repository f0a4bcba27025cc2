use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "answers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub response_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub question_id: String,
    /// Likert 1–5, scale 0–10; NULL together with `value_text` NULL means `na`.
    pub value_num: Option<i32>,
    /// Choices and free text.
    pub value_text: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
