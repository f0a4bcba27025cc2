//! A response's answers move into the response row, as one JSON object
//! (`{"a1": 4, "issue": "…", "p2": null}`: a number, a text, or null for `na`). A submission
//! then writes one row instead of one per question, which is most of what storing it cost;
//! every reader took all of a response's answers at once anyway. The existing rows are moved
//! over and the `answers` table dropped; `down` moves them back.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer_null, string, text_null};
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("responses")
                    .add_column(
                        ColumnDef::new("answers")
                            .json_binary()
                            .not_null()
                            .default(Expr::cust("'{}'")),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let fill = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE responses SET answers = a.obj FROM ( \
                   SELECT response_id, jsonb_object_agg(question_id, \
                     CASE WHEN value_num IS NOT NULL THEN to_jsonb(value_num) \
                          WHEN value_text IS NOT NULL THEN to_jsonb(value_text) \
                          ELSE 'null'::jsonb END) AS obj \
                   FROM answers GROUP BY response_id) a \
                 WHERE responses.id = a.response_id"
            }
            _ => {
                "UPDATE responses SET answers = ( \
                   SELECT json_group_object(question_id, \
                     CASE WHEN value_num IS NOT NULL THEN value_num ELSE value_text END) \
                   FROM answers WHERE answers.response_id = responses.id) \
                 WHERE id IN (SELECT response_id FROM answers)"
            }
        };
        db.execute_unprepared(fill).await?;
        manager
            .drop_table(Table::drop().table("answers").to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("answers")
                    .col(big_integer("response_id"))
                    .col(string("question_id"))
                    .col(integer_null("value_num"))
                    .col(text_null("value_text"))
                    .primary_key(Index::create().col("response_id").col("question_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_answers_response")
                            .from("answers", "response_id")
                            .to("responses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let unfold = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "INSERT INTO answers (response_id, question_id, value_num, value_text) \
                 SELECT r.id, j.key, \
                   CASE WHEN jsonb_typeof(j.value) = 'number' THEN (j.value #>> '{}')::int END, \
                   CASE WHEN jsonb_typeof(j.value) = 'string' THEN j.value #>> '{}' END \
                 FROM responses r, jsonb_each(r.answers) j"
            }
            _ => {
                "INSERT INTO answers (response_id, question_id, value_num, value_text) \
                 SELECT r.id, j.key, \
                   CASE WHEN j.type IN ('integer', 'real') THEN j.value END, \
                   CASE WHEN j.type = 'text' THEN j.value END \
                 FROM responses r, json_each(r.answers) j"
            }
        };
        db.execute_unprepared(unfold).await?;
        manager
            .alter_table(
                Table::alter()
                    .table("responses")
                    .drop_column("answers")
                    .to_owned(),
            )
            .await
    }
}
