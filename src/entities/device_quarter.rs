use sea_orm::entity::prelude::*;

/// The first online response of a device (keyed hash of its cookie) in a ward and quarter.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "device_quarters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ward_code: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub device_hash: String,
    /// `YYYY-Qn` in Vietnam time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub quarter: String,
    pub response_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
