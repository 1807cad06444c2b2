use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
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
                    let (k, c) = runtime_bench::count(&acc);
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
