//! Streaming response bodies. A task writes a file chunk by chunk into a bounded channel and
//! the body reads it; the database is read as fast as the client takes the file.
//!
//! The body's stream must stay at its end once it has reached it: tower-http's compression
//! polls the body again after it returned its last chunk, and a stream that panics then (as
//! `futures_util::stream::unfold` does) cuts every gzip download short. A receiver polled after
//! its channel closed keeps answering `None`, so the body built here ends cleanly under any
//! `Accept-Encoding`. See `docs/hardening.md`, "Exports and CSV".

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;

/// One chunk of a streamed body, or the error that cuts the download (the client sees an
/// incomplete transfer, never a file that looks complete).
pub type Chunk = Result<Bytes, std::io::Error>;

/// A channel of `capacity` chunks and the body that streams what is sent into it; the body
/// ends when every sender is dropped.
pub fn channel_body(capacity: usize) -> (mpsc::Sender<Chunk>, Body) {
    let (tx, mut rx) = mpsc::channel::<Chunk>(capacity);
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (tx, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::HttpBody as _;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    #[tokio::test]
    async fn the_body_stays_at_its_end_when_polled_again() {
        let (tx, mut body) = channel_body(2);
        tx.send(Ok(Bytes::from_static(b"a,b\n"))).await.unwrap();
        drop(tx);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut poll = || Pin::new(&mut body).poll_frame(&mut cx);
        match poll() {
            Poll::Ready(Some(Ok(f))) => assert_eq!(f.into_data().unwrap(), "a,b\n"),
            other => panic!("the chunk first, not {other:?}"),
        }
        for _ in 0..3 {
            assert!(
                matches!(poll(), Poll::Ready(None)),
                "the end, again and again"
            );
        }
    }
}
