//! Fewer, larger reads from the socket under TLS.
//!
//! rustls asks its transport for at most 4 KiB at a time, so a 100 MB event
//! arriving over TLS costs some 25 000 `read` calls. Under rustls each
//! connection reads through [`ReadAhead`]: one read of up to [`CHUNK`]
//! bytes, handed out from memory in the small pieces rustls asks for.
//!
//! The buffer exists only while a stream is flowing: a read is made
//! straight into rustls's buffer until one fills it (more is waiting), and
//! the buffer is let go whenever the socket has nothing more to give. Small
//! sync calls never touch it, and the thousands of idle connections a
//! gateway may hold cost nothing extra. Writes pass straight through.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes asked of the socket at once: four TLS records.
const CHUNK: usize = 64 * 1024;

pub struct ReadAhead<T> {
    inner: T,
    /// Empty when not streaming: reads go straight to the reader.
    buf: Vec<u8>,
    /// `buf[start..end]` is read from the socket and not yet handed out.
    start: usize,
    end: usize,
}

impl<T> ReadAhead<T> {
    pub fn new(inner: T) -> Self {
        ReadAhead {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadAhead<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.start == this.end {
            if this.buf.is_empty() || out.remaining() >= CHUNK {
                // Not streaming (or a reader that asks for this much):
                // straight into the reader's buffer. A read that fills it
                // says more is waiting, so the next ones go through ours.
                let asked = out.remaining();
                let before = out.filled().len();
                let read = Pin::new(&mut this.inner).poll_read(cx, out);
                match &read {
                    Poll::Pending => this.buf = Vec::new(),
                    Poll::Ready(Ok(())) if out.filled().len() - before == asked => {
                        if this.buf.is_empty() && asked < CHUNK {
                            this.buf = vec![0; CHUNK];
                        }
                    }
                    Poll::Ready(_) => {}
                }
                return read;
            }
            let mut ahead = ReadBuf::new(&mut this.buf);
            match Pin::new(&mut this.inner).poll_read(cx, &mut ahead) {
                Poll::Pending => {
                    // Dry: hold no memory while the connection waits.
                    this.buf = Vec::new();
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    this.start = 0;
                    this.end = ahead.filled().len();
                }
            }
            if this.end == 0 {
                this.buf = Vec::new();
                return Poll::Ready(Ok(())); // end of stream
            }
        }
        let n = out.remaining().min(this.end - this.start);
        out.put_slice(&this.buf[this.start..this.start + n]);
        this.start += n;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ReadAhead<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Every byte arrives once and in order whatever the reader's piece
    /// size, across reads that find the socket dry, and the end of the
    /// stream is seen.
    #[tokio::test]
    async fn hands_out_every_byte_in_order() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (mut writer, reader) = tokio::io::duplex(10_000);
        let sent = data.clone();
        let feed = tokio::spawn(async move {
            for piece in sent.chunks(33_333) {
                writer.write_all(piece).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let mut reader = ReadAhead::new(reader);
        let mut got = Vec::new();
        let mut piece = [0u8; 4096];
        let mut i = 0;
        let mut buffered = 0;
        loop {
            // Alternate small reads (buffered) with large ones (direct).
            let n = if i % 3 == 2 {
                let mut big = vec![0u8; CHUNK + 1];
                let n = reader.read(&mut big).await.unwrap();
                got.extend_from_slice(&big[..n]);
                n
            } else {
                let n = reader.read(&mut piece[..1 + i % 4096]).await.unwrap();
                got.extend_from_slice(&piece[..n]);
                n
            };
            if n == 0 {
                break;
            }
            buffered += usize::from(!reader.buf.is_empty());
            i += 1;
            assert!(i < 1_000_000, "no end of stream");
        }
        feed.await.unwrap();
        assert_eq!(got, data);
        assert!(buffered > 0, "a full read switches to read-ahead");
        assert!(reader.buf.is_empty(), "buffer let go at the end");
    }
}
