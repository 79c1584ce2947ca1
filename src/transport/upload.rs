//! Uploading a file: XMLHttpRequest, not fetch, because fetch reports no
//! upload progress, and each file in the composer shows its own.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{File, FormData, ProgressEvent, XmlHttpRequest};

use super::client::Client;
use super::url;

impl Client {
    /// Starts uploading `file`: `on_progress(sent, total)` as it goes, then
    /// `on_end(status, body)` (status 0: no answer: network, CORS, abort).
    /// The request, to abort.
    pub fn upload(
        &self,
        file: &File,
        on_progress: impl Fn(f64, f64) + 'static,
        on_end: impl Fn(u16, String) + 'static,
    ) -> Result<XmlHttpRequest, JsValue> {
        let form = FormData::new()?;
        form.append_with_blob_and_filename("file", file, &file.name())?;
        let xhr = XmlHttpRequest::new()?;
        xhr.open("POST", &url::attachments(&self.api_base))?;
        if let Some(token) = &self.token {
            xhr.set_request_header("Authorization", &url::bearer(token))?;
        }
        let on_progress = Closure::<dyn Fn(ProgressEvent)>::new(move |ev: ProgressEvent| {
            if ev.length_computable() {
                on_progress(ev.loaded(), ev.total());
            }
        });
        xhr.upload()?.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        let request = xhr.clone();
        let on_end = Closure::<dyn Fn()>::new(move || {
            let status = request.status().unwrap_or(0);
            on_end(status, request.response_text().ok().flatten().unwrap_or_default());
        });
        xhr.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
        // They live as long as the request, which outlives this call; a
        // file's two small closures are not worth tracking for the page's life.
        on_progress.forget();
        on_end.forget();
        xhr.send_with_opt_form_data(Some(&form))?;
        Ok(xhr)
    }
}
