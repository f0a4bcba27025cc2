//! Server keys shared by every instance through the database.
//!
//! * `server_secret`: 32 random bytes made by the first instance that starts (insert-or-ignore,
//!   then read back, so concurrent first starts agree). It signs poster ids and device cookies
//!   and keys the device hash: `HMAC-SHA256(secret, purpose ‖ ":" ‖ value)`, with the purposes
//!   `poster`, `cookie` and `device`.
//! * `ip_key:YYYY-MM-DD` (Vietnam day, UTC+7): 32 random bytes per day, made the same way by whichever
//!   instance first needs it. A client address is stored only as `HMAC-SHA256(day key, address)`
//!   (IPv6 addresses by their /64 prefix). Keys older than yesterday are deleted, after which
//!   nobody, not even the operator, can link a stored hash back to an address.

use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::entities::server_key;

type HmacSha256 = Hmac<Sha256>;

const SERVER_SECRET: &str = "server_secret";

/// `HMAC-SHA256(key, purpose ":" value)`, hex.
pub fn hmac_hex(key: &[u8], purpose: &str, value: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    mac.update(b":");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison of two hex strings.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// SHA-256, hex (invitation tokens: 128 random bits need no key).
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Random bytes as lower-case hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Reads the key `name`, creating it with 32 random bytes if it does not exist yet.
async fn get_or_create(db: &impl ConnectionTrait, name: &str) -> Result<Vec<u8>, DbErr> {
    let row = server_key::ActiveModel {
        name: Set(name.to_string()),
        value: Set(random_hex(32)),
        created_at: Set(Utc::now()),
    };
    server_key::Entity::insert(row)
        .on_conflict(
            OnConflict::column(server_key::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .or_else(|e| match e {
            DbErr::RecordNotInserted => Ok(0),
            e => Err(e),
        })?;
    let stored = server_key::Entity::find_by_id(name.to_string())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::Custom(format!("server key {name} vanished")))?;
    hex::decode(&stored.value).map_err(|_| DbErr::Custom(format!("server key {name} is not hex")))
}

/// The server secret (created on first start, shared by every instance).
pub async fn server_secret(db: &impl ConnectionTrait) -> Result<Vec<u8>, DbErr> {
    get_or_create(db, SERVER_SECRET).await
}

fn ip_key_name(day: NaiveDate) -> String {
    format!("ip_key:{}", day.format("%Y-%m-%d"))
}

/// The address-hashing key of `day`; deletes the keys of days before yesterday, and the
/// address counts of those days (`address_counts`: hashes nobody can link any more).
pub async fn ip_key(db: &impl ConnectionTrait, day: NaiveDate) -> Result<Vec<u8>, DbErr> {
    let key = get_or_create(db, &ip_key_name(day)).await?;
    if let Some(yesterday) = day.pred_opt() {
        server_key::Entity::delete_many()
            .filter(server_key::Column::Name.starts_with("ip_key:"))
            .filter(server_key::Column::Name.lt(ip_key_name(yesterday)))
            .exec(db)
            .await?;
        use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
        let old = Query::delete()
            .from_table(Alias::new("address_counts"))
            .and_where(Expr::col(Alias::new("day")).lt(yesterday.format("%Y-%m-%d").to_string()))
            .to_owned();
        db.execute_raw(db.get_database_backend().build(&old))
            .await?;
    }
    Ok(key)
}

/// The part of an address that identifies a client: IPv4 whole, IPv6 by its /64 prefix
/// (a home or phone usually owns a whole /64).
pub fn client_prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The secrets a running server uses, with the day's address key cached.
pub struct Secrets {
    server: Vec<u8>,
    ip_key: Mutex<Option<(NaiveDate, Vec<u8>)>>,
}

impl Secrets {
    pub async fn load(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        Ok(Secrets {
            server: server_secret(db).await?,
            ip_key: Mutex::new(None),
        })
    }

    pub fn from_secret(server: Vec<u8>) -> Self {
        Secrets {
            server,
            ip_key: Mutex::new(None),
        }
    }

    pub fn server(&self) -> &[u8] {
        &self.server
    }

    /// The stored form of a client address at `now`: (hash, day).
    pub async fn ip_hash(
        &self,
        db: &impl ConnectionTrait,
        ip: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<(String, String), DbErr> {
        // The Vietnam calendar day: the day the address rule counts by (see
        // `store::integrity`), so that one address has one hash all that day.
        let day = now.with_timezone(&crate::period::vietnam()).date_naive();
        let cached = self.ip_key.lock().ok().and_then(|g| {
            g.as_ref()
                .filter(|(d, _)| *d == day)
                .map(|(_, k)| k.clone())
        });
        let key = match cached {
            Some(k) => k,
            None => {
                let k = ip_key(db, day).await?;
                if let Ok(mut g) = self.ip_key.lock() {
                    *g = Some((day, k.clone()));
                }
                k
            }
        };
        Ok((
            hmac_hex(&key, "ip", &client_prefix(ip)),
            day.format("%Y-%m-%d").to_string(),
        ))
    }

    /// A new device cookie value: `random.signature`.
    pub fn new_device_cookie(&self) -> String {
        let id = random_hex(16);
        let sig = hmac_hex(&self.server, "cookie", &id);
        format!("{id}.{}", &sig[..32])
    }

    /// The device id of a cookie we signed; `None` for a forged or malformed one.
    pub fn verify_device_cookie(&self, value: &str) -> Option<String> {
        let (id, sig) = value.split_once('.')?;
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let expected = hmac_hex(&self.server, "cookie", id);
        same(&expected[..32], sig).then(|| id.to_string())
    }

    /// What is stored for a device: a keyed hash of its cookie id.
    pub fn device_hash(&self, device_id: &str) -> String {
        hmac_hex(&self.server, "device", device_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_cookies_are_signed() {
        let s = Secrets::from_secret(vec![7; 32]);
        let c = s.new_device_cookie();
        let id = s.verify_device_cookie(&c).expect("own cookie verifies");
        assert_eq!(id.len(), 32);
        let other = Secrets::from_secret(vec![8; 32]);
        assert!(other.verify_device_cookie(&c).is_none());
        let forged = format!("{}.{}", "a".repeat(32), "0".repeat(32));
        assert!(s.verify_device_cookie(&forged).is_none());
        assert!(s.verify_device_cookie("garbage").is_none());
        assert_ne!(s.device_hash(&id), id);
    }

    #[test]
    fn ipv6_is_keyed_by_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client_prefix(a), client_prefix(b));
        let m: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(client_prefix(m), "10.1.2.3");
    }
}
