//! Received files are written to the origin-private file system as their bytes arrive, so a
//! file of hundreds of megabytes never sits in memory. Each visit starts by clearing what an
//! earlier one received: those object URLs are gone, and the space belongs to the person.
//!
//! The writing happens in a dedicated worker (`file_writer.js`), the one place a page may open
//! such a file for synchronous access; the bytes are handed over without a copy.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, FileSystemDirectoryHandle, FileSystemFileHandle,
    FileSystemGetDirectoryOptions, FileSystemRemoveOptions, MessageEvent, Worker,
};

const DIR: &str = "received-files";
const WORKER_SOURCE: &str = include_str!("file_writer.js");

/// A person-readable reason from a storage error's name and message.
fn explain(name: &str, message: &str) -> String {
    if name == "QuotaExceededError" {
        "There is not enough storage space for this file.".to_owned()
    } else {
        format!("Could not store the file: {message}")
    }
}

fn explain_js(error: &JsValue) -> String {
    let name = error
        .dyn_ref::<web_sys::DomException>()
        .map(|e| e.name())
        .unwrap_or_default();
    explain(&name, &super::peer::describe(error))
}

/// `{name, message}` as the worker reports a failure.
fn explain_reported(error: &JsValue) -> String {
    let field = |key: &str| {
        js_sys::Reflect::get(error, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    explain(&field("name"), &field("message"))
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

/// What the writer reports while bytes are written.
pub enum WriteEvent {
    /// Everything up to this offset of the file is written.
    Written(u64),
    /// A write failed; nothing after it is written.
    Failed(String),
}

/// A request to the worker: `op` and its fields.
fn request(op: &str, fields: &[(&str, JsValue)]) -> js_sys::Object {
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"op".into(), &op.into());
    for (key, value) in fields {
        let _ = js_sys::Reflect::set(&message, &(*key).into(), value);
    }
    message
}

/// One file being received, written by its own worker.
pub struct Writer {
    name: String,
    worker: Worker,
    script_url: String,
    /// Who waits for the answer to each request sent but not yet answered, oldest first (the
    /// worker answers in order).
    waiting: Rc<RefCell<VecDeque<js_sys::Function>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Writer {
    /// Creates (or empties) the file `name` and a worker that writes it; `on_event` hears of
    /// every write.
    pub async fn create(name: &str, on_event: Rc<dyn Fn(WriteEvent)>) -> Result<Self, String> {
        let parts = js_sys::Array::of1(&JsValue::from_str(WORKER_SOURCE));
        let kind = BlobPropertyBag::new();
        kind.set_type("text/javascript");
        let script = Blob::new_with_str_sequence_and_options(&parts, &kind)
            .and_then(|blob| web_sys::Url::create_object_url_with_blob(&blob))
            .map_err(|e| explain_js(&e))?;
        let worker = match Worker::new(&script) {
            Ok(worker) => worker,
            Err(e) => {
                let _ = web_sys::Url::revoke_object_url(&script);
                return Err(explain_js(&e));
            }
        };
        let waiting: Rc<RefCell<VecDeque<js_sys::Function>>> = Rc::default();
        let answered = waiting.clone();
        let on_message = Closure::<dyn FnMut(_)>::new(move |e: MessageEvent| {
            let data = e.data();
            let field = |key: &str| js_sys::Reflect::get(&data, &JsValue::from_str(key)).ok();
            match field("op").and_then(|op| op.as_string()).as_deref() {
                Some("written") => {
                    if let Some(end) = field("end").and_then(|v| v.as_f64()) {
                        on_event(WriteEvent::Written(end as u64));
                    }
                }
                Some("failed") => on_event(WriteEvent::Failed(explain_reported(&data))),
                Some("done") => {
                    let resolve = answered.borrow_mut().pop_front();
                    if let Some(resolve) = resolve {
                        let error = field("error").unwrap_or(JsValue::UNDEFINED);
                        let _ = resolve.call1(&JsValue::NULL, &error);
                    }
                }
                _ => {}
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let writer = Self {
            name: name.to_owned(),
            worker,
            script_url: script,
            waiting,
            _on_message: on_message,
        };
        writer
            .ask(request(
                "open",
                &[("dir", DIR.into()), ("name", name.into())],
            ))
            .await?;
        Ok(writer)
    }

    /// Sends a request and waits for its answer.
    async fn ask(&self, message: js_sys::Object) -> Result<(), String> {
        let answer = js_sys::Promise::new(&mut |resolve, _reject| {
            self.waiting.borrow_mut().push_back(resolve);
        });
        if let Err(e) = self.worker.post_message(&message) {
            self.waiting.borrow_mut().pop_back();
            return Err(explain_js(&e));
        }
        let error = JsFuture::from(answer).await.unwrap_or(JsValue::UNDEFINED);
        if error.is_undefined() || error.is_null() {
            Ok(())
        } else {
            Err(explain_reported(&error))
        }
    }

    /// Queues `parts` to be written one after the other from offset `at`. The buffers move to
    /// the worker (they are empty here afterwards): one request for many parts, because each
    /// request to a worker costs far more than the few bytes of a chunk (measured). The outcome
    /// arrives as a [`WriteEvent`].
    pub fn write(&self, parts: &js_sys::Array, at: u64) -> Result<(), String> {
        let message = request(
            "write",
            &[("at", (at as f64).into()), ("parts", parts.into())],
        );
        self.worker
            .post_message_with_transfer(&message, parts)
            .map_err(|e| explain_js(&e))
    }

    /// Once every queued write is done: commits the file and returns it, to be opened or
    /// downloaded.
    pub async fn finish(&self) -> Result<web_sys::File, String> {
        self.ask(request("close", &[])).await?;
        let read = async {
            let handle: FileSystemFileHandle =
                JsFuture::from(folder().await?.get_file_handle(&self.name))
                    .await?
                    .dyn_into()?;
            JsFuture::from(handle.get_file()).await?.dyn_into()
        };
        read.await.map_err(|e: JsValue| explain_js(&e))
    }

    /// Drops what was written (cancelled, or damaged on arrival).
    pub async fn discard(&self) {
        let _ = self.ask(request("discard", &[])).await;
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.terminate();
        let _ = web_sys::Url::revoke_object_url(&self.script_url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    fn batch(parts: &[&[u8]]) -> js_sys::Array {
        parts
            .iter()
            .map(|part| js_sys::Uint8Array::from(*part).buffer())
            .collect()
    }

    type Heard = Rc<RefCell<Vec<Result<u64, String>>>>;

    async fn open(name: &str) -> (Writer, Heard) {
        let heard: Heard = Rc::default();
        let events = heard.clone();
        let on_event = Rc::new(move |event| {
            events.borrow_mut().push(match event {
                WriteEvent::Written(end) => Ok(end),
                WriteEvent::Failed(why) => Err(why),
            })
        });
        (Writer::create(name, on_event).await.unwrap(), heard)
    }

    #[wasm_bindgen_test]
    async fn a_file_written_in_batches_reads_back_byte_for_byte() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (writer, heard) = open("test-batches").await;
        let first = batch(&[&data[..1_000], &data[1_000..70_000]]);
        writer.write(&first, 0).unwrap();
        // The buffers moved to the worker: nothing was copied, and nothing is left here.
        let moved = js_sys::ArrayBuffer::from(first.get(1));
        assert_eq!(moved.byte_length(), 0);
        writer
            .write(&batch(&[&data[70_000..200_000]]), 70_000)
            .unwrap();
        writer.write(&batch(&[&data[200_000..]]), 200_000).unwrap();
        let file = writer.finish().await.unwrap();
        assert_eq!(*heard.borrow(), [Ok(70_000), Ok(200_000), Ok(300_000)]);
        let stored = JsFuture::from(file.array_buffer()).await.unwrap();
        assert_eq!(js_sys::Uint8Array::new(&stored).to_vec(), data);
    }

    #[wasm_bindgen_test]
    async fn creating_a_file_again_starts_it_empty_and_discarding_removes_it() {
        let (old, _) = open("test-again").await;
        old.write(&batch(&[b"an older, longer attempt"]), 0)
            .unwrap();
        old.finish().await.unwrap();
        let (writer, _) = open("test-again").await;
        writer.write(&batch(&[b"new"]), 0).unwrap();
        assert_eq!(writer.finish().await.unwrap().size(), 3.0);

        let (doomed, _) = open("test-discard").await;
        doomed.write(&batch(&[b"unwanted"]), 0).unwrap();
        doomed.discard().await;
        let folder = folder().await.unwrap();
        let gone = JsFuture::from(folder.get_file_handle("test-discard")).await;
        assert!(gone.is_err(), "the discarded file is still there");
    }
}
