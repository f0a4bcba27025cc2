use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "margins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ward_code: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sex: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub age: String,
    pub share: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
