//! The checks `insert_batch` runs on online responses, inside its transaction.
//!
//! * Invitation token: `UPDATE … SET used_at WHERE token_hash = ? AND ward_code = ? AND used_at
//!   IS NULL AND not expired`; one row means this response owns the token. Two concurrent uses
//!   serialise on the row lock; the loser is flagged `token_invalid`.
//! * Device: `INSERT INTO device_quarters … ON CONFLICT DO NOTHING` on the key (ward, device
//!   hash, quarter). No row inserted means the device already has its response this quarter:
//!   flagged `duplicate_device`. A second transaction inserting the same key waits for the
//!   first to commit (PostgreSQL) or for the write lock (SQLite), so two instances agree, and a
//!   second response of the same device later in the same batch sees the first one's row.
//!   A response that claims a valid token skips this check (and takes no slot).
//! * Address: one upsert per batch into `address_counts` (Vietnam day, ward, address key)
//!   returning the new totals; see [`address_checks`].
//! * Burst: see [`IntegrityConfig`]. The ward's counts are read once per batch and the
//!   batch's own earlier responses added; a device's or an address's repeats are left out.
//!
//! Paper ballots (`channel = paper`) and assisted interviews (`channel = assisted`) are never
//! checked, nor counted in a burst window. docs/integrity.md gives the reasons.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, Set,
    Statement, Value,
};

use super::responses::NewResponse;
use crate::config::IntegrityConfig;
use crate::entities::{device_quarter, invitation_token};

pub const DUPLICATE_DEVICE: &str = "duplicate_device";
pub const BURST: &str = "burst";
pub const TOKEN_INVALID: &str = "token_invalid";
pub const SAME_ADDRESS: &str = "same_address";

/// What the checks found for one response.
#[derive(Debug, Default)]
pub struct Checks {
    pub flag: Option<String>,
    device_slot: Option<(String, String, String)>,
    token_claimed: Option<String>,
}

/// Per-ward burst state over one batch.
pub struct BurstTracker {
    rules: IntegrityConfig,
    /// ward → (online responses in the window before the batch, threshold, added in batch)
    wards: HashMap<String, (u64, f64, u64)>,
}

impl BurstTracker {
    pub fn new(rules: &IntegrityConfig) -> Self {
        BurstTracker {
            rules: rules.clone(),
            wards: HashMap::new(),
        }
    }
}

/// The wards' usual online volume over the baseline (the part of the burst rule that changes
/// slowly), kept for [`BaselineCache::TTL`] so that a batch reads only the recent window.
#[derive(Default)]
pub struct BaselineCache(std::sync::Mutex<HashMap<String, (std::time::Instant, u64)>>);

impl BaselineCache {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(600);

    fn get(&self, ward: &str) -> Option<u64> {
        let g = self.0.lock().ok()?;
        g.get(ward)
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, n)| *n)
    }

    fn put(&self, ward: &str, usual_total: u64) {
        if let Ok(mut g) = self.0.lock() {
            if g.len() > 20_000 {
                g.retain(|_, (at, _)| at.elapsed() < Self::TTL);
            }
            g.insert(ward.to_string(), (std::time::Instant::now(), usual_total));
        }
    }
}

/// What the writer has read of the wards' recent windows: per ward, that at least `n` online
/// responses were stored at or after `oldest` (and at or before `to`, the end of the window
/// read). While a later window still starts before `oldest` and ends after `to`, it holds those
/// `n` responses too, whatever was stored since, by this server or another: once `n` is past
/// the ward's threshold, its window need not be counted again until it moves past `oldest`.
///
/// Under a burst, every batch counted up to the cap of each of its wards in the responses'
/// burst index, and on PostgreSQL each counted entry is a visit to the table (rows that new
/// are not yet marked visible to all): about 26 visits per stored submission in the
/// benchmark. A response deleted meanwhile (an erasure) could leave `n` above the true count
/// until the window moves on: the error can only flag a response `burst`, which stores it for
/// review out of the rollups, never refuses it.
#[derive(Default)]
pub struct RecentCache(std::sync::Mutex<HashMap<String, Recent>>);

#[derive(Clone, Copy)]
struct Recent {
    n: u64,
    oldest: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl RecentCache {
    /// How many online responses the window (`from`, `to`] of `ward` is known to hold at least.
    fn at_least(&self, ward: &str, (from, to): (DateTime<Utc>, DateTime<Utc>)) -> Option<u64> {
        let g = self.0.lock().ok()?;
        g.get(ward)
            .filter(|r| r.oldest > from && r.to <= to)
            .map(|r| r.n)
    }

    fn put(&self, ward: &str, recent: Recent) {
        if let Ok(mut g) = self.0.lock() {
            if g.len() > 20_000 {
                g.retain(|_, r| r.oldest > recent.oldest - Duration::days(1));
            }
            g.insert(ward.to_string(), recent);
        }
    }
}

impl BurstTracker {
    /// Reads the burst state of every ward of the batch's online responses with two grouped
    /// queries, instead of two queries per ward. The window ends at the batch's latest
    /// submission; a batch whose online submissions span more than a few seconds (not one the
    /// writer gathers) is left to the per-ward reads, each at its own first submission.
    pub async fn prefetch(
        &mut self,
        db: &impl ConnectionTrait,
        batch: &[NewResponse],
        cache: Option<&BaselineCache>,
        recent_cache: Option<&RecentCache>,
    ) -> Result<(), DbErr> {
        let online: Vec<&NewResponse> = batch.iter().filter(|r| r.channel.is_checked()).collect();
        let (Some(first), Some(last)) = (
            online.iter().map(|r| r.submitted_at).min(),
            online.iter().map(|r| r.submitted_at).max(),
        ) else {
            return Ok(());
        };
        if last - first > Duration::seconds(5) {
            return Ok(());
        }
        let mut wards: Vec<String> = online.iter().map(|r| r.ward_code.clone()).collect();
        wards.sort();
        wards.dedup();
        let rules = &self.rules;
        for chunk in super::exact_chunks(&wards, 500) {
            let mut usual: HashMap<String, u64> = HashMap::new();
            let unknown: Vec<String> = chunk
                .iter()
                .filter(|w| match cache.and_then(|b| b.get(w)) {
                    Some(n) => {
                        usual.insert((*w).clone(), n);
                        false
                    }
                    None => true,
                })
                .cloned()
                .collect();
            let read = usual_counts(db, &unknown, usual_window(rules, last)).await?;
            for w in &unknown {
                let n = read.get(w).copied().unwrap_or(0);
                if let Some(b) = cache {
                    b.put(w, n);
                }
                usual.insert(w.clone(), n);
            }
            let window = recent_window(rules, last);
            let thresholds: Vec<f64> = chunk
                .iter()
                .map(|w| threshold(rules, usual.get(w).copied().unwrap_or(0)))
                .collect();
            // Past the threshold already: the rule decides as on the exact count.
            let mut known: HashMap<String, u64> = HashMap::new();
            let (mut ask, mut caps) = (Vec::new(), Vec::new());
            for (w, &t) in chunk.iter().zip(&thresholds) {
                match recent_cache.and_then(|c| c.at_least(w, window)) {
                    Some(n) if n >= count_cap(std::iter::once(t)) => {
                        known.insert(w.clone(), n);
                    }
                    _ => {
                        ask.push(w.clone());
                        caps.push(t);
                    }
                }
            }
            let cap = count_cap(caps.into_iter());
            for (w, (n, oldest)) in recent_counts(db, &ask, window, cap).await? {
                if let (Some(c), Some(oldest)) = (recent_cache, oldest) {
                    c.put(
                        &w,
                        Recent {
                            n,
                            oldest,
                            to: window.1,
                        },
                    );
                }
                known.insert(w, n);
            }
            for (w, threshold) in chunk.iter().zip(thresholds) {
                let recent = known.get(w).copied().unwrap_or(0);
                self.wards.insert(w.clone(), (recent, threshold, 0));
            }
        }
        Ok(())
    }
}

/// Online responses per ward of `wards` submitted in (`from`, `to`] and not flagged as a
/// burst: the wards' usual volume over the baseline.
///
/// The statement has one text per backend (the ward list is one JSON parameter, see
/// [`super::json_list`]), written out here rather than built by the query builder.
/// `COUNT(*)`, not `COUNT(id)`: every column the count reads is in the burst index, so
/// PostgreSQL can count from the index alone (`id` is not in it; SQLite's rowid is).
async fn usual_counts(
    db: &impl ConnectionTrait,
    wards: &[String],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<HashMap<String, u64>, DbErr> {
    if wards.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let (count, from_param, to_param) = match backend {
        DbBackend::Postgres => ("CAST(COUNT(*) AS BIGINT)", "$2", "$3"),
        _ => ("COUNT(*)", "?", "?"),
    };
    let sql = format!(
        "SELECT ward_code, {count} AS n FROM responses WHERE {} AND channel NOT IN ('paper', 'assisted') \
         AND submitted_at > {from_param} AND submitted_at <= {to_param} \
         AND (flag_reason IS NULL OR flag_reason NOT IN ('burst', 'duplicate_device', \
         'same_address')) GROUP BY ward_code",
        super::in_json_list_sql(backend, "ward_code"),
    );
    let list = super::json_list(wards);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [list, Value::from(from), Value::from(to)],
        ))
        .await?;
    ward_counts(rows)
}

/// The (`ward_code`, `n`) rows of a count, by ward; read by column name, as every read on the
/// writer's connection is.
fn ward_counts(rows: Vec<sea_orm::QueryResult>) -> Result<HashMap<String, u64>, DbErr> {
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let ward: String = row.try_get("", "ward_code")?;
        let n: i64 = row.try_get("", "n")?;
        out.insert(ward, u64::try_from(n).unwrap_or(0));
    }
    Ok(out)
}

/// How far a window's count must go to settle the burst rule for thresholds up to the largest
/// of `thresholds`: a count that reaches it is above every one of them, and so is the count
/// plus the batch's own responses, whatever the exact count.
fn count_cap(thresholds: impl Iterator<Item = f64>) -> u64 {
    let largest = thresholds.fold(0.0_f64, f64::max);
    // Saturating: a threshold past u64 (a misconfiguration) counts everything.
    (largest.floor() as u64).saturating_add(1)
}

/// Online responses per ward of `wards` submitted in (`from`, `to`], each count stopping at
/// `cap` (see [`count_cap`]): a ward under a burst, whose window holds thousands of responses,
/// costs a batch no more than one whose window holds `cap`. With a count that reached the cap
/// comes the submission time of the cap-th latest response, the `oldest` of [`RecentCache`].
///
/// One statement per backend, written out (the ward list is one JSON parameter, see
/// [`super::json_list`]); per ward, a count of at most `cap` rows read from the burst index
/// alone, and for a ward at the cap the cap-th latest entry of it.
async fn recent_counts(
    db: &impl ConnectionTrait,
    wards: &[String],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    cap: u64,
) -> Result<HashMap<String, (u64, Option<DateTime<Utc>>)>, DbErr> {
    if wards.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    // `OFFSET 0` keeps PostgreSQL from folding the counts into the outer query, which would
    // count twice.
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT x.ward_code, x.n, CASE WHEN x.n >= $4 THEN (SELECT submitted_at FROM \
             responses WHERE ward_code = x.ward_code AND channel NOT IN ('paper', 'assisted') AND submitted_at > $2 \
             AND submitted_at <= $3 \
             AND (flag_reason IS NULL OR flag_reason NOT IN ('duplicate_device', 'same_address')) \
             ORDER BY submitted_at DESC LIMIT 1 OFFSET $4 - 1) END AS oldest \
             FROM (SELECT w.ward AS ward_code, (SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT 1 FROM \
             responses WHERE ward_code = w.ward AND channel NOT IN ('paper', 'assisted') AND submitted_at > $2 \
             AND submitted_at <= $3 \
             AND (flag_reason IS NULL OR flag_reason NOT IN ('duplicate_device', 'same_address')) \
             LIMIT $4) AS c) AS n \
             FROM jsonb_array_elements_text(CAST($1 AS jsonb)) AS w(ward) OFFSET 0) AS x"
        }
        _ => {
            "SELECT x.ward_code, x.n, CASE WHEN x.n >= ?4 THEN (SELECT submitted_at FROM \
             responses WHERE ward_code = x.ward_code AND channel NOT IN ('paper', 'assisted') AND submitted_at > ?2 \
             AND submitted_at <= ?3 \
             AND (flag_reason IS NULL OR flag_reason NOT IN ('duplicate_device', 'same_address')) \
             ORDER BY submitted_at DESC LIMIT 1 OFFSET ?4 - 1) END AS oldest \
             FROM (SELECT w.value AS ward_code, (SELECT COUNT(*) FROM (SELECT 1 FROM responses \
             WHERE ward_code = w.value AND channel NOT IN ('paper', 'assisted') AND submitted_at > ?2 \
             AND submitted_at <= ?3 \
             AND (flag_reason IS NULL OR flag_reason NOT IN ('duplicate_device', 'same_address')) \
             LIMIT ?4)) AS n FROM json_each(?1) AS w) AS x"
        }
    };
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                super::json_list(wards),
                Value::from(from),
                Value::from(to),
                Value::from(cap),
            ],
        ))
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let ward: String = row.try_get("", "ward_code")?;
        let n: i64 = row.try_get("", "n")?;
        out.insert(
            ward,
            (u64::try_from(n).unwrap_or(0), read_time(&row, "oldest")),
        );
    }
    Ok(out)
}

/// A timestamp column of a computed expression: PostgreSQL types it; SQLite gives the text it
/// stored (RFC 3339, as sqlx writes it). `None` for NULL or anything else.
fn read_time(row: &sea_orm::QueryResult, column: &str) -> Option<DateTime<Utc>> {
    if let Ok(Some(t)) = row.try_get::<Option<DateTime<Utc>>>("", column) {
        return Some(t);
    }
    let text: String = row.try_get::<Option<String>>("", column).ok()??;
    DateTime::parse_from_rfc3339(&text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The window ending at `at` whose online responses a burst counts.
fn recent_window(rules: &IntegrityConfig, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let window = Duration::minutes(i64::from(rules.burst_window_minutes));
    (at - window, at)
}

/// The baseline before that window (counted without earlier bursts): the ward's usual volume.
fn usual_window(rules: &IntegrityConfig, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let window = Duration::minutes(i64::from(rules.burst_window_minutes));
    let baseline = Duration::days(i64::from(rules.burst_baseline_days));
    (at - baseline, at - window)
}

/// The number of online responses in a window above which it is a burst, given the ward's
/// usual volume over the baseline.
fn threshold(rules: &IntegrityConfig, usual_total: u64) -> f64 {
    let window = Duration::minutes(i64::from(rules.burst_window_minutes));
    let baseline = Duration::days(i64::from(rules.burst_baseline_days));
    let windows = (baseline.num_minutes() as f64 / window.num_minutes() as f64).max(1.0);
    let usual = usual_total as f64 / windows;
    (rules.burst_factor * usual).max(f64::from(rules.burst_min_per_window))
}

/// The threshold above which a window of the ward's online responses is a burst, and the
/// number already in the window ending at `at`, counted up to the first past the threshold
/// (see [`count_cap`]).
pub async fn burst_state(
    db: &impl ConnectionTrait,
    rules: &IntegrityConfig,
    ward: &str,
    at: DateTime<Utc>,
) -> Result<(u64, f64), DbErr> {
    let wards = [ward.to_string()];
    let usual = usual_counts(db, &wards, usual_window(rules, at)).await?;
    let threshold = threshold(rules, usual.get(ward).copied().unwrap_or(0));
    let recent = recent_counts(
        db,
        &wards,
        recent_window(rules, at),
        count_cap(std::iter::once(threshold)),
    )
    .await?;
    Ok((recent.get(ward).map_or(0, |(n, _)| *n), threshold))
}

/// Runs the per-response checks for `r`: the invitation token, then the device (nothing for
/// paper ballots and assisted interviews). A response that claims a valid token is never a device's repeat: the token
/// is the proof (a shared household phone), and it leaves the device's slot free.
pub async fn check(db: &impl ConnectionTrait, r: &NewResponse) -> Result<Checks, DbErr> {
    let mut out = Checks::default();
    if !r.channel.is_checked() {
        return Ok(out);
    }
    if let Some(hash) = &r.token_hash {
        let claimed = invitation_token::Entity::update_many()
            .col_expr(
                invitation_token::Column::UsedAt,
                Expr::value(r.submitted_at),
            )
            .filter(invitation_token::Column::TokenHash.eq(hash.clone()))
            .filter(invitation_token::Column::WardCode.eq(r.ward_code.clone()))
            .filter(invitation_token::Column::UsedAt.is_null())
            .filter(
                Condition::any()
                    .add(invitation_token::Column::ExpiresAt.is_null())
                    .add(invitation_token::Column::ExpiresAt.gt(r.submitted_at)),
            )
            .exec(db)
            .await?
            .rows_affected;
        if claimed == 1 {
            out.token_claimed = Some(hash.clone());
            return Ok(out);
        }
        out.flag = Some(TOKEN_INVALID.into());
    }
    if let Some(device) = &r.device_hash {
        let quarter = crate::period::Period::quarter_of(r.submitted_at).to_string();
        let row = device_quarter::ActiveModel {
            ward_code: Set(r.ward_code.clone()),
            device_hash: Set(device.clone()),
            quarter: Set(quarter.clone()),
            response_id: Set(None),
        };
        let inserted = device_quarter::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    device_quarter::Column::WardCode,
                    device_quarter::Column::DeviceHash,
                    device_quarter::Column::Quarter,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await
            .or_else(|e| match e {
                DbErr::RecordNotInserted => Ok(0),
                e => Err(e),
            })?;
        if inserted == 1 {
            out.device_slot = Some((r.ward_code.clone(), device.clone(), quarter));
        } else if out.flag.is_none() {
            out.flag = Some(DUPLICATE_DEVICE.into());
        }
    }
    Ok(out)
}

/// The Vietnam calendar day of `t`, `YYYY-MM-DD`: the day the address rule counts by.
pub fn vietnam_day(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::period::vietnam())
        .format("%Y-%m-%d")
        .to_string()
}

/// The part of an address hash `address_counts` keys by: its first 16 hex digits (64 bits;
/// two addresses of one ward and day share a key with odds of about 2⁻⁶⁴ per pair).
pub fn address_key(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

/// Address concentration over a batch whose per-response checks are `checks`: of the online
/// responses from one address hash to one ward on one Vietnam day, the first
/// `address_counted_per_day` count and later ones are flagged `same_address`.
///
/// Only responses that would otherwise count take a place (not a device's repeat, nor one
/// already flagged, nor one with a valid token, which is exempt). The batch's places are added
/// to `address_counts` with one upsert per batch (per 250 addresses) that returns each key's new
/// total, inside the batch's transaction: a second transaction upserting the same key waits
/// for the first to commit (PostgreSQL's row lock, SQLite's write lock) and then adds to its
/// total, so concurrent batches and instances agree on which responses are past the allowance.
pub async fn address_checks(
    db: &impl ConnectionTrait,
    rules: &IntegrityConfig,
    batch: &[NewResponse],
    checks: &mut [Checks],
) -> Result<(), DbErr> {
    let cap = u64::from(rules.address_counted_per_day);
    if cap == 0 {
        return Ok(());
    }
    // (day, ward, address key) → the batch's candidates, in batch order. Sorted, so that
    // concurrent batches lock the rows in one order.
    let mut keys: std::collections::BTreeMap<(String, &str, &str), Vec<usize>> =
        std::collections::BTreeMap::new();
    for (i, (r, c)) in batch.iter().zip(checks.iter()).enumerate() {
        let Some((hash, _)) = &r.ip_hash else {
            continue;
        };
        if !r.channel.is_checked()
            || r.flag_reason.is_some()
            || c.flag.is_some()
            || c.token_claimed.is_some()
        {
            continue;
        }
        keys.entry((
            vietnam_day(r.submitted_at),
            r.ward_code.as_str(),
            address_key(hash),
        ))
        .or_default()
        .push(i);
    }
    if keys.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let entries: Vec<_> = keys.into_iter().collect();
    for chunk in super::exact_chunks(&entries, 250) {
        let mut values = Vec::with_capacity(chunk.len() * 4);
        for ((day, ward, key), places) in chunk {
            values.extend([
                Value::from(day.as_str()),
                Value::from(*ward),
                Value::from(*key),
                Value::from(places.len() as i64),
            ]);
        }
        let sql = super::values_sql(
            backend,
            "INSERT INTO address_counts (day, ward_code, ip_key, n)",
            4,
            chunk.len(),
            "ON CONFLICT (day, ward_code, ip_key) DO UPDATE SET n = address_counts.n + excluded.n \
             RETURNING day, ward_code, ip_key, n",
        );
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(backend, &*sql, values))
            .await?;
        let mut totals: HashMap<(String, String, String), i64> = HashMap::with_capacity(rows.len());
        for row in rows {
            totals.insert(
                (
                    row.try_get("", "day")?,
                    row.try_get("", "ward_code")?,
                    row.try_get("", "ip_key")?,
                ),
                row.try_get("", "n")?,
            );
        }
        for ((day, ward, key), places) in chunk {
            let total = totals
                .get(&(day.clone(), ward.to_string(), key.to_string()))
                .copied()
                .ok_or_else(|| DbErr::Custom(format!("no address count for ward {ward}")))?;
            let before = u64::try_from(total)
                .unwrap_or(0)
                .saturating_sub(places.len() as u64);
            for (k, &i) in places.iter().enumerate() {
                if before + k as u64 >= cap {
                    checks[i].flag = Some(SAME_ADDRESS.into());
                }
            }
        }
    }
    Ok(())
}

/// Whether a flag marks a repeat of one device or one address: such responses are left out of
/// the burst counts, so that one client's repeats never make other residents' answers a burst.
fn is_repeat(flag: Option<&str>) -> bool {
    matches!(flag, Some(DUPLICATE_DEVICE | SAME_ADDRESS))
}

/// The burst rule for `r`, after the other checks (nothing for paper ballots and assisted
/// interviews; a response with a valid token is in the window but never flagged).
pub async fn burst_check(
    db: &impl ConnectionTrait,
    r: &NewResponse,
    out: &mut Checks,
    bursts: &mut BurstTracker,
) -> Result<(), DbErr> {
    if !r.channel.is_checked() || is_repeat(out.flag.as_deref().or(r.flag_reason.as_deref())) {
        return Ok(());
    }
    let entry = match bursts.wards.get_mut(&r.ward_code) {
        Some(e) => e,
        None => {
            let (recent, threshold) =
                burst_state(db, &bursts.rules, &r.ward_code, r.submitted_at).await?;
            bursts
                .wards
                .entry(r.ward_code.clone())
                .or_insert((recent, threshold, 0))
        }
    };
    entry.2 += 1;
    let in_window = entry.0 + entry.2;
    if out.flag.is_none() && out.token_claimed.is_none() && in_window as f64 > entry.1 {
        out.flag = Some(BURST.into());
    }
    Ok(())
}

/// Links the device slot and the claimed token to the stored response.
pub async fn link(
    db: &impl ConnectionTrait,
    _r: &NewResponse,
    checks: &Checks,
    response_id: i64,
) -> Result<(), DbErr> {
    if let Some((ward, device, quarter)) = &checks.device_slot {
        device_quarter::Entity::update_many()
            .col_expr(device_quarter::Column::ResponseId, Expr::value(response_id))
            .filter(device_quarter::Column::WardCode.eq(ward.clone()))
            .filter(device_quarter::Column::DeviceHash.eq(device.clone()))
            .filter(device_quarter::Column::Quarter.eq(quarter.clone()))
            .exec(db)
            .await?;
    }
    if let Some(hash) = &checks.token_claimed {
        invitation_token::Entity::update_many()
            .col_expr(
                invitation_token::Column::ResponseId,
                Expr::value(response_id),
            )
            .filter(invitation_token::Column::TokenHash.eq(hash.clone()))
            .exec(db)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::BURST;
    use crate::store::responses::Channel;

    /// A count stopped at the cap is above every threshold the cap was made for, so the burst
    /// rule decides as on the exact count.
    #[test]
    fn a_count_stopped_at_the_cap_is_past_every_threshold_it_serves() {
        use super::count_cap;
        assert_eq!(count_cap([50.0].into_iter()), 51);
        assert_eq!(count_cap([49.5, 12.0, 0.0].into_iter()), 50);
        assert_eq!(count_cap(std::iter::empty()), 1);
        for t in [0.0, 0.4, 1.0, 50.0, 50.9, 733.2, 1e6] {
            let cap = count_cap([t, t / 2.0].into_iter());
            // Any exact count at or past the cap is reported as the cap: still above t.
            assert!(cap as f64 > t, "{t}");
            // One less is the largest count that can be at or below t.
            assert!((cap - 1) as f64 <= t, "{t}");
        }
        assert_eq!(count_cap([f64::MAX].into_iter()), u64::MAX);
    }

    /// A ward's known count serves a later window only while that window still holds every
    /// response counted: it starts before the oldest of them and ends after the window read.
    #[test]
    fn a_known_recent_count_serves_only_windows_that_hold_what_was_counted() {
        use super::{Recent, RecentCache};
        use chrono::{Duration, TimeZone, Utc};
        let t =
            |m: i64| Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap() + Duration::minutes(m);
        let cache = RecentCache::default();
        assert_eq!(cache.at_least("00004", (t(-60), t(0))), None);
        cache.put(
            "00004",
            Recent {
                n: 51,
                oldest: t(-10),
                to: t(0),
            },
        );
        assert_eq!(cache.at_least("00004", (t(-60), t(0))), Some(51));
        assert_eq!(cache.at_least("00004", (t(-11), t(49))), Some(51));
        // The window has moved past the oldest counted response.
        assert_eq!(cache.at_least("00004", (t(-10), t(50))), None);
        // A window ending before the one read (a clock set back) may not hold them all.
        assert_eq!(cache.at_least("00004", (t(-61), t(-1))), None);
        assert_eq!(cache.at_least("00008", (t(-60), t(0))), None);
    }

    /// The burst counts' statements are written out with these values inline.
    #[test]
    fn the_burst_counts_name_the_paper_channel_and_the_burst_flag_as_stored() {
        assert_eq!(Channel::Paper.as_str(), "paper");
        assert_eq!(Channel::Assisted.as_str(), "assisted");
        assert!(!Channel::Paper.is_checked() && !Channel::Assisted.is_checked());
        assert!(Channel::Web.is_checked() && Channel::Token.is_checked());
        assert_eq!(BURST, "burst");
    }
}
