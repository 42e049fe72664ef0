//! Framing (spec/transport.md §3): each request and each response is one
//! frame on a bidirectional QUIC stream — a 4-byte big-endian length, then
//! that many bytes of one canonical CBOR message. A length over the cap is
//! refused before anything is allocated.

use bytes::Bytes;
use cbm_wire::{DecodeError, Request, Response, Wire};
use quinn::{RecvStream, SendStream};

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The announced length is over the cap.
    #[error("frame of {len} bytes is over the limit of {max}")]
    TooLarge {
        /// Announced length.
        len: u64,
        /// The cap.
        max: u64,
    },
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame")]
    Truncated,
    /// The frame does not hold one valid canonical message.
    #[error("malformed message: {0}")]
    Malformed(#[from] DecodeError),
    /// QUIC failed.
    #[error("stream: {0}")]
    Stream(String),
}

/// Reads one frame of at most `max` bytes.
///
/// # Errors
/// [`FrameError::TooLarge`] before reading the body of an oversized frame.
pub async fn read_frame(recv: &mut RecvStream, max: usize) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    recv.read_exact(&mut len).await.map_err(read_error)?;
    let len = u32::from_be_bytes(len);
    if len as usize > max {
        return Err(FrameError::TooLarge { len: len.into(), max: max as u64 });
    }
    let mut body = vec![0u8; len as usize];
    recv.read_exact(&mut body).await.map_err(read_error)?;
    Ok(body)
}

fn read_error(error: quinn::ReadExactError) -> FrameError {
    match error {
        quinn::ReadExactError::FinishedEarly(_) => FrameError::Truncated,
        quinn::ReadExactError::ReadError(e) => FrameError::Stream(e.to_string()),
    }
}

/// Writes `message` as one frame. Its length and body are queued on the
/// stream together, so a small frame leaves in one packet.
///
/// # Errors
/// If the stream fails.
pub async fn write_frame(send: &mut SendStream, message: Vec<u8>) -> Result<(), FrameError> {
    let len = u32::try_from(message.len())
        .map_err(|_| FrameError::TooLarge { len: message.len() as u64, max: u32::MAX.into() })?;
    let mut chunks = [Bytes::copy_from_slice(&len.to_be_bytes()), Bytes::from(message)];
    send.write_all_chunks(&mut chunks).await.map_err(|e| FrameError::Stream(e.to_string()))
}

/// Reads and strictly decodes a request frame.
///
/// # Errors
/// As [`read_frame`], or [`FrameError::Malformed`].
pub async fn read_request(recv: &mut RecvStream, max: usize) -> Result<Request, FrameError> {
    Ok(Request::decode(&read_frame(recv, max).await?)?)
}

/// Reads and strictly decodes a response frame.
///
/// # Errors
/// As [`read_frame`], or [`FrameError::Malformed`].
pub async fn read_response(recv: &mut RecvStream, max: usize) -> Result<Response, FrameError> {
    Ok(Response::decode(&read_frame(recv, max).await?)?)
}
