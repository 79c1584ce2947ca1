//! The panel's own words, in the locales content comes in.

use connect360_api::Locale;

pub struct Strings {
    pub title: &'static str,
    pub open_chat: &'static str,
    pub close: &'static str,
    pub placeholder: &'static str,
    pub send: &'static str,
    pub sending: &'static str,
    pub sent: &'static str,
    pub failed: &'static str,
    pub retry: &'static str,
    pub reply: &'static str,
    pub replying_to: &'static str,
    pub cancel_reply: &'static str,
    pub earlier_message: &'static str,
    pub loading: &'static str,
    pub empty: &'static str,
    pub connecting: &'static str,
    pub cannot_connect: &'static str,
    pub today: &'static str,
    pub yesterday: &'static str,
    pub you: &'static str,
    pub support: &'static str,
    pub assistant: &'static str,
    /// Said (to screen readers) while the assistant's reply has no word yet.
    pub typing: &'static str,
    pub talk_to_person: &'static str,
    pub handed_off: &'static str,
    pub hand_off_failed: &'static str,
    pub messages: &'static str,
    pub attach: &'static str,
    pub remove_file: &'static str,
    pub cancel_upload: &'static str,
    pub uploading: &'static str,
    pub upload_failed: &'static str,
    pub drop_files: &'static str,
    /// `{max}`: the most files a message can carry.
    pub too_many_files: &'static str,
    /// `{name}`, `{size}` of the file; `{max}`: the largest size allowed.
    pub file_too_large: &'static str,
    pub download: &'static str,
    pub close_image: &'static str,
    /// The launcher while replies wait; `{n}`: how many.
    pub open_chat_unread: &'static str,
    /// Said (not shown) when a message arrives: `{name}` of the sender, its `{text}`.
    pub new_message: &'static str,
}

const EN: Strings = Strings {
    title: "Chat with us",
    open_chat: "Open chat",
    close: "Close chat",
    placeholder: "Write a message…",
    send: "Send",
    sending: "Sending…",
    sent: "Sent",
    failed: "Not sent",
    retry: "Retry",
    reply: "Reply",
    replying_to: "Replying to",
    cancel_reply: "Cancel reply",
    earlier_message: "Earlier message",
    loading: "Loading earlier messages…",
    empty: "Ask us anything. We usually reply within minutes.",
    connecting: "Connecting…",
    cannot_connect: "Can't connect right now.",
    today: "Today",
    yesterday: "Yesterday",
    you: "You",
    support: "Support",
    assistant: "Assistant",
    typing: "The assistant is writing a reply…",
    talk_to_person: "Talk to a person",
    handed_off: "A team member will reply here. The assistant won't answer any more.",
    hand_off_failed: "Couldn't reach the team just now. Try again.",
    messages: "Messages",
    attach: "Attach files",
    remove_file: "Remove file",
    cancel_upload: "Cancel upload",
    uploading: "Uploading",
    upload_failed: "Upload failed",
    drop_files: "Drop files to attach",
    too_many_files: "You can attach up to {max} files to a message. Nothing was uploaded.",
    file_too_large: "“{name}” is {size}; files can be up to {max}. Nothing was uploaded.",
    download: "Download",
    close_image: "Close image",
    open_chat_unread: "Open chat, {n} unread",
    new_message: "New message from {name}: {text}",
};

const AR: Strings = Strings {
    title: "تحدث معنا",
    open_chat: "افتح المحادثة",
    close: "أغلق المحادثة",
    placeholder: "اكتب رسالة…",
    send: "إرسال",
    sending: "جارٍ الإرسال…",
    sent: "أُرسلت",
    failed: "لم تُرسل",
    retry: "أعد المحاولة",
    reply: "رد",
    replying_to: "رد على",
    cancel_reply: "إلغاء الرد",
    earlier_message: "رسالة سابقة",
    loading: "جارٍ تحميل الرسائل السابقة…",
    empty: "اسألنا أي شيء. نرد عادةً خلال دقائق.",
    connecting: "جارٍ الاتصال…",
    cannot_connect: "تعذر الاتصال الآن.",
    today: "اليوم",
    yesterday: "أمس",
    you: "أنت",
    support: "الدعم",
    assistant: "المساعد",
    typing: "المساعد يكتب ردًا…",
    talk_to_person: "التحدث إلى شخص",
    handed_off: "سيرد عليك أحد أعضاء فريقنا هنا. لن يجيب المساعد بعد الآن.",
    hand_off_failed: "تعذّر الوصول إلى الفريق الآن. حاول مرة أخرى.",
    messages: "الرسائل",
    attach: "إرفاق ملفات",
    remove_file: "إزالة الملف",
    cancel_upload: "إلغاء الرفع",
    uploading: "جارٍ الرفع",
    upload_failed: "تعذر الرفع",
    drop_files: "أفلت الملفات لإرفاقها",
    too_many_files: "يمكنك إرفاق {max} ملفات كحد أقصى بالرسالة. لم يُرفع أي ملف.",
    file_too_large: "حجم «{name}» هو {size}، والحد الأقصى للملف {max}. لم يُرفع أي ملف.",
    download: "تنزيل",
    close_image: "أغلق الصورة",
    open_chat_unread: "افتح المحادثة، غير المقروءة: {n}",
    new_message: "رسالة جديدة من {name}: {text}",
};

const TR: Strings = Strings {
    title: "Bize yazın",
    open_chat: "Sohbeti aç",
    close: "Sohbeti kapat",
    placeholder: "Bir mesaj yazın…",
    send: "Gönder",
    sending: "Gönderiliyor…",
    sent: "Gönderildi",
    failed: "Gönderilemedi",
    retry: "Tekrar dene",
    reply: "Yanıtla",
    replying_to: "Yanıtlanan",
    cancel_reply: "Yanıtı iptal et",
    earlier_message: "Önceki mesaj",
    loading: "Önceki mesajlar yükleniyor…",
    empty: "Bize her şeyi sorabilirsiniz. Genellikle birkaç dakikada yanıt veririz.",
    connecting: "Bağlanıyor…",
    cannot_connect: "Şu anda bağlanılamıyor.",
    today: "Bugün",
    yesterday: "Dün",
    you: "Siz",
    support: "Destek",
    assistant: "Asistan",
    typing: "Asistan bir yanıt yazıyor…",
    talk_to_person: "Bir kişiyle konuş",
    handed_off: "Ekibimizden biri burada yanıt verecek. Asistan artık yanıt vermeyecek.",
    hand_off_failed: "Şu anda ekibe ulaşılamadı. Tekrar deneyin.",
    messages: "Mesajlar",
    attach: "Dosya ekle",
    remove_file: "Dosyayı kaldır",
    cancel_upload: "Yüklemeyi iptal et",
    uploading: "Yükleniyor",
    upload_failed: "Yüklenemedi",
    drop_files: "Eklemek için dosyaları bırakın",
    too_many_files: "Bir mesaja en fazla {max} dosya ekleyebilirsiniz. Hiçbir dosya yüklenmedi.",
    file_too_large: "“{name}” {size}; dosyalar en fazla {max} olabilir. Hiçbir dosya yüklenmedi.",
    download: "İndir",
    close_image: "Resmi kapat",
    open_chat_unread: "Sohbeti aç, okunmamış: {n}",
    new_message: "{name} yeni mesaj gönderdi: {text}",
};

pub fn strings(locale: Locale) -> &'static Strings {
    match locale {
        Locale::En => &EN,
        Locale::Ar => &AR,
        Locale::Tr => &TR,
    }
}

/// Up to two initials of a name, for an avatar without an image.
/// The first letters of a name's first two words. The avatar's CSS makes
/// them capitals (in the panel's language): Rust's case tables would cost the
/// bundle 4.5 KB.
pub fn initials(name: &str) -> String {
    name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("jane  doe smith"), "jd");
        assert_eq!(initials("Ömer"), "Ö");
        assert_eq!(initials("سارة أحمد"), "سأ");
        assert_eq!(initials("  "), "");
    }

    #[test]
    fn every_locale_has_its_words() {
        for l in Locale::ALL {
            assert!(!strings(l).title.is_empty());
        }
        assert_eq!(strings(Locale::Tr).retry, "Tekrar dene");
    }
}
