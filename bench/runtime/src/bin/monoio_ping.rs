use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
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
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .build()
        .unwrap();
    rt.block_on(async {
        let l = monoio::net::TcpListener::bind("127.0.0.1:7702").unwrap();
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            monoio::spawn(async move {
                let mut acc: Vec<u8> = Vec::with_capacity(16384);
                let mut rbuf = vec![0u8; 16384];
                let mut out: Vec<u8> = Vec::with_capacity(16384);
                loop {
                    let (r, b) = s.read(rbuf).await;
                    rbuf = b;
                    let n = match r {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    acc.extend_from_slice(&rbuf[..n]);
                    let (k, c) = count(&acc);
                    acc.drain(..c);
                    for _ in 0..k {
                        out.extend_from_slice(b"+PONG\r\n");
                    }
                    let (r, o) = s.write_all(out).await;
                    out = o;
                    if r.is_err() {
                        return;
                    }
                    out.clear();
                }
            });
        }
    });
}
