//! Uploading the composer's files: one XMLHttpRequest per file (fetch has no
//! upload progress), so that each file has its own progress and cancel.

use connect360_api::ATTACHMENTS_PATH;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{File, FileList, FormData, ProgressEvent, XmlHttpRequest};

use crate::attachments::{check_limits, parse_upload};
use crate::chat::Chat;
use crate::i18n::strings;

/// The files of a file input, a drop or a paste.
pub fn files_of(list: Option<FileList>) -> Vec<File> {
    let Some(list) = list else { return vec![] };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Uploads `files`, or none of them when they break a limit (then says why).
pub fn attach(chat: Chat, files: Vec<File>) {
    if files.is_empty() {
        return;
    }
    let picked: Vec<(String, u64)> = files.iter().map(|f| (f.name(), f.size() as u64)).collect();
    let held = chat.uploads.with_untracked(|u| u.held());
    if let Err(e) = check_limits(held, &picked) {
        chat.upload_error.set(Some(e.message(strings(chat.locale.get_untracked()))));
        return;
    }
    chat.upload_error.set(None);
    for (file, (name, size)) in files.into_iter().zip(picked) {
        let mut key = 0;
        chat.uploads.update(|u| key = u.add(name, size));
        if let Err(e) = start(chat, key, &file) {
            let why = e.as_string().unwrap_or_else(|| strings(chat.locale.get_untracked()).upload_failed.to_owned());
            chat.uploads.update(|u| u.finished(key, Err(why)));
        }
    }
}

fn start(chat: Chat, key: u32, file: &File) -> Result<(), wasm_bindgen::JsValue> {
    let failed = strings(chat.locale.get_untracked()).upload_failed;
    let Some(client) = chat.session.with_untracked(|s| s.as_ref().map(|s| s.client.clone())) else {
        chat.uploads.update(|u| u.finished(key, Err(strings(chat.locale.get_untracked()).cannot_connect.to_owned())));
        return Ok(());
    };
    let form = FormData::new()?;
    form.append_with_blob_and_filename("file", file, &file.name())?;
    let xhr = XmlHttpRequest::new()?;
    xhr.open("POST", &format!("{}{ATTACHMENTS_PATH}", client.api_base.trim_end_matches('/')))?;
    xhr.set_request_header("Authorization", &format!("Bearer {}", client.token))?;

    let on_progress = Closure::<dyn Fn(ProgressEvent)>::new(move |ev: ProgressEvent| {
        if ev.length_computable() {
            chat.uploads.update(|u| u.progress(key, ev.loaded(), ev.total()));
        }
    });
    xhr.upload()?.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    let request = xhr.clone();
    let on_end = Closure::<dyn Fn()>::new(move || {
        chat.xhrs.update_value(|x| x.retain(|(k, _)| *k != key));
        // status 0: the request never got an answer (network, CORS, abort).
        let status = request.status().unwrap_or(0);
        let body = request.response_text().ok().flatten().unwrap_or_default();
        let result = if status == 0 { Err(failed.to_owned()) } else { parse_upload(status, &body, failed) };
        chat.uploads.update(|u| u.finished(key, result));
    });
    xhr.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
    // They live as long as the request, which outlives this call; a file's
    // two small closures are not worth tracking for the page's life.
    on_progress.forget();
    on_end.forget();
    xhr.send_with_opt_form_data(Some(&form))?;
    chat.xhrs.update_value(|x| x.push((key, xhr)));
    Ok(())
}

/// Stops a file's upload and drops it from the composer.
pub fn cancel(chat: Chat, key: u32) {
    let mut was_active = false;
    chat.uploads.update(|u| was_active = u.cancel(key));
    if was_active {
        let xhr = chat.xhrs.try_update_value(|x| {
            let i = x.iter().position(|(k, _)| *k == key)?;
            Some(x.remove(i).1)
        });
        if let Some(xhr) = xhr.flatten() {
            _ = xhr.abort();
        }
    }
}
