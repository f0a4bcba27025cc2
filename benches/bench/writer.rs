//! The writer's storing path alone, in process: batches of 32 submissions (as the HTTP load
//! makes at 32 connections) stored through the same function and caches the server's writer
//! uses, each in its own transaction on the writer's connection. Set beside the HTTP figure,
//! it tells how much of a submission's cost is storage and how much the rest of the path.

use std::time::{Duration, Instant};

use hailong::store::responses::{BatchCaches, Channel, NewResponse};
use hailong::survey::{Mode, Survey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Submissions per transaction.
pub const BATCH: usize = 32;

/// Stores batches of [`BATCH`] for about `seconds`; returns (responses/s, median per batch
/// of store and commit, in ms).
pub async fn run(
    url: &str,
    survey: &Survey,
    wards: &[String],
    seconds: u64,
) -> Result<(f64, f64), String> {
    let db = hailong::db::connect_writer(url)
        .await
        .map_err(|e| e.to_string())?;
    let caches = BatchCaches::default();
    let rules = hailong::config::IntegrityConfig::default();
    let mut rng = StdRng::seed_from_u64(11);
    let mut times: Vec<Duration> = Vec::new();
    let mut stored = 0usize;
    let mut busy = Duration::ZERO;
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        let mut batch: Vec<NewResponse> = Vec::with_capacity(BATCH);
        for i in 0..BATCH {
            let pairs = crate::data::random_form(&mut rng, (stored + i) as u64);
            let valid = hailong::intake::parse(survey, &pairs, Mode::Web)
                .map_err(|e| format!("generated form refused: {e:?}"))?;
            let ward = &wards[rng.gen_range(0..wards.len())];
            let mut r = hailong::intake::new_response(
                survey,
                &valid,
                ward,
                Channel::Web,
                chrono::Utc::now(),
            );
            r.ip_hash = Some((format!("{:032x}", rng.r#gen::<u128>()), "2026-11-28".into()));
            batch.push(r);
        }
        let started = Instant::now();
        hailong::store::writer::commit_batch(&db, &batch, &rules, None, Some(&caches))
            .await
            .map_err(|e| e.to_string())?;
        let took = started.elapsed();
        busy += took;
        times.push(took);
        stored += batch.len();
    }
    db.close().await.ok();
    let (median, _) = crate::data::median_p99(times);
    Ok((stored as f64 / busy.as_secs_f64(), median))
}
