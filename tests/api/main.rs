//! One integration-test binary. Every test spawns the app on port 0 with a fresh database; the
//! `both!` tests run on SQLite always and on PostgreSQL when `HAILONG_TEST_POSTGRES_URL` is set.

mod helpers;
mod homes;

mod accounts;
mod alert_cap;
mod audit_log;
mod backup;
mod browser;
mod cli;
mod conns;
mod crash;
mod exports;
mod fuzz;
mod imports;
mod instances;
mod integrity;
mod interviews;
mod mail;
mod mailsink;
mod measure;
mod migrations;
mod ops;
mod pilot;
mod privacy_rights;
mod prometheus;
mod province_posters;
mod public;
mod replica;
mod results;
mod rollup_props;
mod serverproc;
mod signin;
mod staff;
mod staff_browser;
mod store_health;
mod unit_moves;
mod withheld;
mod writer;
