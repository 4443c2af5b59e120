//! Reading an HTTP response body with a cap, so that a broken or hostile server
//! (one streaming an endless body) costs at most [`MAX_BODY_BYTES`] of memory.
//!
//! Used by the SCIM client and the token request; what a too-large answer means
//! for a call (fail, no retry) is decided by their callers.

use bytes::{Bytes, BytesMut};

/// The most bytes read from one response: no SCIM or token answer comes near it
/// (a page of 100 full users is well under 1 MiB).
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The body is longer than the cap (told by Content-Length, or read that far).
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The transport failed while reading.
    Transport(reqwest::Error),
}

/// The text of a [`BodyError::TooLarge`]: what the server did and what was done.
pub fn too_large_message(limit: usize) -> String {
    format!(
        "the server sent more than {} in one response (the most scimport reads); the rest was not read",
        human_bytes(limit)
    )
}

/// `16 MiB`, or the plain byte count when it is not a whole number of MiB.
fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

/// Reads `resp`'s body, at most `limit` bytes of it: a longer body (by its
/// Content-Length, or once read past `limit`) is [`BodyError::TooLarge`] and the
/// connection is dropped with the rest unread.
pub async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Result<Bytes, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
        if buf.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_14_message_says_the_cap() {
        assert!(too_large_message(MAX_BODY_BYTES).contains("more than 16 MiB"));
        assert!(too_large_message(1000).contains("more than 1000 bytes"));
    }
}
