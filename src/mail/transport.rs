//! The lettre transports: SMTP from `HAILONG_SMTP_URL` (`smtp://` plain, `smtp://…?tls=required`
//! STARTTLS, `smtps://` TLS, `user:pass@` credentials), else `.eml` files in `HAILONG_MAIL_DIR`.

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{Config, redact_url};
use crate::entities::outbox;

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in a folder (lettre's file transport).
    Files(std::path::PathBuf),
}

impl Transport {
    /// The transport the configuration asks for; creates the mail folder if needed.
    pub fn from_config(cfg: &Config) -> anyhow::Result<Transport> {
        match &cfg.smtp_url {
            Some(url) => {
                let t = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| {
                        anyhow::anyhow!("HAILONG_SMTP_URL `{}` is not valid: {e}", redact_url(url))
                    })?
                    // Well under the worker's lease, so a slow server cannot cause a double send.
                    .timeout(Some(std::time::Duration::from_secs(
                        (cfg.mail.lease_secs / 3).clamp(5, 60),
                    )))
                    .build();
                Ok(Transport::Smtp(t))
            }
            None => {
                std::fs::create_dir_all(&cfg.mail_dir).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot create the mail folder {}: {e}",
                        cfg.mail_dir.display()
                    )
                })?;
                Ok(Transport::Files(cfg.mail_dir.clone()))
            }
        }
    }

    pub fn describe(&self, cfg: &Config) -> String {
        match self {
            Transport::Smtp(_) => format!(
                "SMTP {}",
                redact_url(cfg.smtp_url.as_deref().unwrap_or_default())
            ),
            Transport::Files(_) => format!(".eml files in {}", cfg.mail_dir.display()),
        }
    }

    /// Sends one message; `Err` carries a reason fit for the outbox's `last_error`.
    pub async fn send(&self, from: &Mailbox, msg: &outbox::Model) -> Result<(), String> {
        let email = build(from, msg)?;
        match self {
            Transport::Smtp(t) => t.send(email).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Files(dir) => AsyncFileTransport::<Tokio1Executor>::new(dir)
                .send(email)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}

/// The MIME message of an outbox row: `multipart/alternative` with the text part first, the
/// subject encoded by lettre (RFC 2047), the stored extra headers.
pub fn build(from: &Mailbox, msg: &outbox::Model) -> Result<lettre::Message, String> {
    let to: Mailbox = msg
        .recipient
        .parse()
        .map_err(|e| format!("bad recipient address: {e}"))?;
    let mut b = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(msg.subject.clone())
        .message_id(Some(format!(
            "<outbox-{}.{}@{}>",
            msg.id,
            msg.created_at.timestamp(),
            from.email.domain()
        )));
    let headers: Vec<(String, String)> = serde_json::from_str(&msg.headers).unwrap_or_default();
    for (name, value) in headers {
        let name = HeaderName::new_from_ascii(name).map_err(|e| format!("bad header: {e}"))?;
        b = b.raw_header(HeaderValue::new(name, value));
    }
    b.multipart(
        MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(msg.body_text.clone()),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(msg.body_html.clone()),
            ),
    )
    .map_err(|e| format!("cannot build the message: {e}"))
}
