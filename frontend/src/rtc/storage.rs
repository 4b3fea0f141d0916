//! Received files are written to the origin-private file system as their bytes arrive, so a
//! file of hundreds of megabytes never sits in memory. Each visit starts by clearing what an
//! earlier one received: those object URLs are gone, and the space belongs to the person.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemRemoveOptions, FileSystemWritableFileStream,
};

const DIR: &str = "received-files";

fn explain(error: &JsValue) -> String {
    let name = error
        .dyn_ref::<web_sys::DomException>()
        .map(|e| e.name())
        .unwrap_or_default();
    if name == "QuotaExceededError" {
        "There is not enough storage space for this file.".to_owned()
    } else {
        format!("Could not store the file: {}", super::peer::describe(error))
    }
}

async fn root() -> Result<FileSystemDirectoryHandle, JsValue> {
    let storage = web_sys::window()
        .ok_or_else(|| JsValue::from_str("no window"))?
        .navigator()
        .storage();
    JsFuture::from(storage.get_directory()).await?.dyn_into()
}

async fn folder() -> Result<FileSystemDirectoryHandle, JsValue> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(true);
    JsFuture::from(
        root()
            .await?
            .get_directory_handle_with_options(DIR, &options),
    )
    .await?
    .dyn_into()
}

pub async fn clear_received() {
    if let Ok(root) = root().await {
        let options = FileSystemRemoveOptions::new();
        options.set_recursive(true);
        let _ = JsFuture::from(root.remove_entry_with_options(DIR, &options)).await;
    }
}

/// One file being received.
pub struct Writer {
    name: String,
    handle: FileSystemFileHandle,
    stream: FileSystemWritableFileStream,
}

impl Writer {
    pub async fn create(name: &str) -> Result<Self, String> {
        let make = async {
            let options = FileSystemGetFileOptions::new();
            options.set_create(true);
            let handle: FileSystemFileHandle =
                JsFuture::from(folder().await?.get_file_handle_with_options(name, &options))
                    .await?
                    .dyn_into()?;
            let stream: FileSystemWritableFileStream =
                JsFuture::from(handle.create_writable()).await?.dyn_into()?;
            Ok::<_, JsValue>(Self {
                name: name.to_owned(),
                handle,
                stream,
            })
        };
        make.await.map_err(|e| explain(&e))
    }

    pub async fn write(&self, bytes: &[u8]) -> Result<(), String> {
        let written = self
            .stream
            .write_with_u8_array(bytes)
            .map_err(|e| explain(&e))?;
        JsFuture::from(written).await.map_err(|e| explain(&e))?;
        Ok(())
    }

    /// Commits the file and returns it, to be opened or downloaded.
    pub async fn finish(&self) -> Result<web_sys::File, String> {
        JsFuture::from(self.stream.close())
            .await
            .map_err(|e| explain(&e))?;
        JsFuture::from(self.handle.get_file())
            .await
            .and_then(|f| f.dyn_into())
            .map_err(|e| explain(&e))
    }

    /// Drops what was written (cancelled, or damaged on arrival).
    pub async fn discard(&self) {
        let _ = JsFuture::from(self.stream.close()).await;
        if let Ok(folder) = folder().await {
            let _ = JsFuture::from(folder.remove_entry(&self.name)).await;
        }
    }
}
