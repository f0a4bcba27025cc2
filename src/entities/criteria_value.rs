use sea_orm::entity::prelude::*;

/// A ward-score criterion value (0–100) entered by province or ministry staff.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "criteria_values")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ward_code: String,
    /// `YYYY-Qn` or `YYYY-MM`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub criterion: String,
    pub value: f64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
