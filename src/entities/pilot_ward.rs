use sea_orm::entity::prelude::*;

/// A unit of the pilot group of model wards, which the ministry's home shows side by side.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pilot_wards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ward_code: String,
    pub added_at: DateTimeUtc,
    /// The e-mail of the ministry user who added it, or `config` when it came from
    /// `[staff] pilot_wards`.
    pub added_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
