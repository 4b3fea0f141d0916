//! Entry point Trunk builds: mounts the app.

fn main() {
    frontend::start();
}
