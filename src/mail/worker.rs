//! The background worker `hailong serve` runs: sends due outbox messages, enqueues follow-ups
//! that came due and the weekly digest. Several instances may run on one database: each message
//! is claimed by exactly one of them (see [`super::outbox::claim`]).

use std::time::Duration;

use chrono::Utc;
use lettre::message::Mailbox;

use super::outbox;
use super::transport::Transport;
use crate::app::AppState;

/// Sends every due message once; returns how many were sent.
pub async fn run_once(state: &AppState, transport: &Transport, from: &Mailbox) -> u64 {
    let cfg = &state.config.mail;
    let lease = chrono::Duration::seconds(i64::try_from(cfg.lease_secs).unwrap_or(300));
    let mut sent = 0;
    let ids = match outbox::due_ids(&state.db, Utc::now(), 100).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the outbox");
            return 0;
        }
    };
    for id in ids {
        let msg = match outbox::claim(&state.db, id, Utc::now(), lease).await {
            Ok(Some(m)) => m,
            Ok(None) => continue, // another worker has it
            Err(e) => {
                tracing::error!(error = %e, id, "cannot claim an outbox message");
                continue;
            }
        };
        // A crash between the SMTP server's acceptance and `mark_sent` sends it again once the
        // lease runs out (at-least-once delivery, see README).
        let outcome = transport.send(from, &msg).await;
        let now = Utc::now();
        let written = match &outcome {
            Ok(()) => outbox::mark_sent(&state.db, id, now).await,
            Err(e) => outbox::mark_attempt_failed(&state.db, &msg, e, now, cfg).await,
        };
        match (outcome, written) {
            (Ok(()), Ok(())) => {
                sent += 1;
                tracing::info!(id, kind = %msg.kind, "mail sent");
            }
            (Err(e), Ok(())) => {
                tracing::warn!(id, kind = %msg.kind, attempt = msg.attempts + 1, error = %e, "mail not sent; will retry or give up")
            }
            (_, Err(e)) => tracing::error!(id, error = %e, "cannot record a mail outcome"),
        }
    }
    sent
}

/// Runs until the task is dropped.
pub async fn run(state: AppState, transport: Transport) {
    let from: Mailbox = match state.config.mail_from.parse() {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "HAILONG_MAIL_FROM is not an address; no mail is sent");
            return;
        }
    };
    tracing::info!(to = %transport.describe(&state.config), "mail worker started");
    let mut tick = tokio::time::interval(Duration::from_millis(state.config.mail.poll_interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_digest_check: Option<tokio::time::Instant> = None;
    loop {
        tick.tick().await;
        if state.config.mail.weekly_digest
            && last_digest_check.is_none_or(|t| t.elapsed() >= Duration::from_secs(600))
        {
            last_digest_check = Some(tokio::time::Instant::now());
            weekly_digest(&state).await;
        }
        if let Err(e) = super::replies::enqueue_due_followups(
            &state.db,
            &state.tera,
            &state.config.base_url,
            state.secrets.server(),
            Utc::now(),
        )
        .await
        {
            tracing::error!(error = %e, "cannot enqueue the due follow-ups");
        }
        run_once(&state, &transport, &from).await;
    }
}

/// Enqueues this week's digest if it is due and not enqueued yet (by any instance).
async fn weekly_digest(state: &AppState) {
    let now = Utc::now();
    let Some(week) = super::digest::due_week(now) else {
        return;
    };
    match super::digest::enqueue_digests(
        &state.db,
        &state.tera,
        state.measure_ctx(),
        &state.config.base_url,
        state.secrets.server(),
        now,
        Some(&week),
    )
    .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, %week, "weekly digests enqueued"),
        Err(e) => tracing::error!(error = %e, "cannot enqueue the weekly digest"),
    }
}
