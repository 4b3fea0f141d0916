use signaling::config::Config;
#[tokio::test]
#[ignore]
async fn serve() {
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(data.path().to_path_buf());
    config.static_dir = "/tmp/interop/static".into();
    config.auth_attempts_per_minute = 1000;
    config.socket_frames_per_second = 1000;
    config.user_events_per_second = 1000;
    let server = signaling::start(config).await.unwrap();
    std::fs::write("/tmp/interop/url", server.url()).unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(900)).await;
}
