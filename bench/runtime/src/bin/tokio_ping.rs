use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
                    let (k, c) = runtime_bench::count(&buf);
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
