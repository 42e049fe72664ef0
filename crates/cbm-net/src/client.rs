//! The requesting side of `cbm/1`: one request, one response, one stream.

use std::time::Duration;

use cbm_wire::{ErrorCode, Request, Response, Wire};

use crate::frame::{FrameError, read_response, write_frame};

/// Why a request to a peer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// No connection could be made or kept.
    #[error("connection: {0}")]
    Connection(String),
    /// The response frame was bad.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The peer did not answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The peer answered with an error.
    #[error("peer refused: {code:?}: {message}")]
    Refused {
        /// Its code.
        code: ErrorCode,
        /// Its explanation.
        message: String,
    },
    /// The peer answered with a response of the wrong kind.
    #[error("unexpected response to {0}")]
    Unexpected(&'static str),
}

/// Sends `request` on a new stream of `connection` and reads the response,
/// of at most `max_frame` bytes, within `timeout`.
///
/// # Errors
/// See [`CallError`]; an error response becomes [`CallError::Refused`].
pub async fn call(
    connection: &quinn::Connection,
    request: &Request,
    max_frame: usize,
    timeout: Duration,
) -> Result<Response, CallError> {
    let exchange = async {
        let (mut send, mut recv) = connection.open_bi().await.map_err(|e| CallError::Connection(e.to_string()))?;
        write_frame(&mut send, request.encode()).await?;
        send.finish().map_err(|e| CallError::Connection(e.to_string()))?;
        Ok::<_, CallError>(read_response(&mut recv, max_frame).await?)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Err(CallError::Timeout(timeout)),
        Ok(Err(e)) => Err(e),
        Ok(Ok(Response::Error { code, message })) => Err(CallError::Refused { code, message: message.to_string() }),
        Ok(Ok(response)) => Ok(response),
    }
}
