use sea_orm::entity::prelude::*;

/// One additive accumulator of the satisfaction measure: ward × month × cell × metric.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "rollups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ward_code: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub cell: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub metric: String,
    pub n: i64,
    pub sum: f64,
    pub sumsq: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
