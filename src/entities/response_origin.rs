use sea_orm::entity::prelude::*;

/// Where an online response came from, as a keyed hash of the address (the key changes daily).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "response_origins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub response_id: i64,
    pub ip_hash: String,
    /// `YYYY-MM-DD`: the day whose key made the hash (the Vietnam day; rows stored before the
    /// key followed Vietnam time name the UTC day).
    pub day: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
