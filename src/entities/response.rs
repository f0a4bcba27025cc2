use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "responses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub receipt: String,
    pub ward_code: String,
    pub survey_id: String,
    pub survey_version: i32,
    /// `web`, `poster`, `token`, `paper` or `api`.
    pub channel: String,
    pub submitted_at: DateTimeUtc,
    /// `YYYY-MM` in Asia/Ho_Chi_Minh time.
    pub month: String,
    /// Sex × age cell key (`m:18-34` …) or `unknown`.
    pub cell: String,
    /// `counted` or `flagged`.
    pub status: String,
    pub flag_reason: Option<String>,
    pub device_hash: Option<String>,
    /// The answers: `{"a1": 4, "issue": "…", "p2": null}` (a number, a text, or null for
    /// `na`); see `store::responses::AnswerRow`.
    #[sea_orm(column_type = "JsonBinary")]
    pub answers: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
