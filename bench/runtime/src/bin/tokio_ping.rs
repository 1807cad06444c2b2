use tokio::io::{AsyncReadExt, AsyncWriteExt};
fn count(buf: &[u8]) -> (usize, usize) {
    // complete RESP multibulk requests in buf: (count, bytes consumed)
    fn num(b: &[u8], i: &mut usize) -> Option<usize> {
        let mut v = 0usize;
        while *i < b.len() && b[*i] != b'\r' {
            v = v * 10 + (b[*i] - b'0') as usize;
            *i += 1;
        }
        if *i + 1 >= b.len() {
            return None;
        }
        *i += 2;
        Some(v)
    }
    let (mut n, mut pos) = (0, 0);
    loop {
        let mut i = pos;
        if i >= buf.len() || buf[i] != b'*' {
            return (n, pos);
        }
        i += 1;
        let Some(argc) = num(buf, &mut i) else {
            return (n, pos);
        };
        for _ in 0..argc {
            if i >= buf.len() {
                return (n, pos);
            }
            i += 1;
            let Some(l) = num(buf, &mut i) else {
                return (n, pos);
            };
            i += l + 2;
            if i > buf.len() {
                return (n, pos);
            }
        }
        n += 1;
        pos = i;
    }
}
fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:7701")
            .await
            .unwrap();
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            tokio::task::spawn_local(async move {
                let mut buf = Vec::with_capacity(16384);
                let mut out = Vec::with_capacity(16384);
                loop {
                    let mut tmp = [0u8; 16384];
                    let n = match s.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&tmp[..n]);
                    let (k, c) = count(&buf);
                    buf.drain(..c);
                    for _ in 0..k {
                        out.extend_from_slice(b"+PONG\r\n");
                    }
                    if s.write_all(&out).await.is_err() {
                        return;
                    }
                    out.clear();
                }
            });
        }
    });
}
