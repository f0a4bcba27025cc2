//! Hài Lòng: citizen-feedback surveys and the satisfaction measure for ward police.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod csvout;
pub mod db;
pub mod entities;
pub mod error;
pub mod intake;
pub mod mail;
pub mod measure;
pub mod monitor;
pub mod period;
pub mod privacy;
pub mod qr;
pub mod ratelimit;
pub mod reach;
pub mod replica;
pub mod server;
pub mod sqlite_direct;
pub mod store;
pub mod survey;
pub mod telemetry;
pub mod templates;
pub mod web;
