//! The widget's own strings (the conversation's words come from booking-core).

use booking_core::booking::Locale;

/// A widget label.
#[derive(Clone, Copy)]
pub(crate) enum K {
    OpenChat,
    Close,
    InputLabel,
    Placeholder,
    Send,
    Talk,
    Hours,
    Typing,
    CardTitle,
    Book,
    Edit,
    Sms,
    Name,
    Phone,
    Address,
    Issue,
    Emergency,
    Booked,
    Reference,
    Received,
    Queued,
    Sending,
    Failed,
    EditHint,
    Connecting,
    NoConfig,
    Windows,
    Limit,
    Restart,
    OtherLang,
    Suggestions,
}

/// The label in a language.
pub(crate) fn t(l: Locale, k: K) -> &'static str {
    let es = l == Locale::Es;
    match k {
        K::OpenChat => if es { "Abrir el chat" } else { "Chat with us" },
        K::Close => if es { "Cerrar el chat" } else { "Close chat" },
        K::InputLabel => if es { "Su mensaje" } else { "Your message" },
        K::Placeholder => if es { "Escriba aquí…" } else { "Type here…" },
        K::Send => if es { "Enviar" } else { "Send" },
        K::Talk => if es { "Hablar con una persona" } else { "Talk to a person" },
        K::Hours => if es { "Horario" } else { "Office hours" },
        K::Typing => if es { "Escribiendo…" } else { "Typing…" },
        K::CardTitle => if es { "Casi listo: revise los datos y toque Reservar" } else { "Almost done: check the details, then tap Book it" },
        K::Book => if es { "Reservar" } else { "Book it" },
        K::Edit => if es { "Editar" } else { "Edit" },
        K::Sms => if es { "Envíenme mensajes de texto sobre esta visita" } else { "Text me updates about this visit" },
        K::Name => if es { "Nombre" } else { "Name" },
        K::Phone => if es { "Teléfono" } else { "Phone" },
        K::Address => if es { "Dirección" } else { "Address" },
        K::Issue => if es { "Problema" } else { "Problem" },
        K::Emergency => {
            if es {
                "Si huele a gas, suena una alarma de CO o hay peligro, salga de la casa y llame al 911. Luego llámenos:"
            } else {
                "If you smell gas, a CO alarm is sounding or anyone is in danger, leave the house and call 911. Then call us:"
            }
        }
        K::Booked => if es { "¡Listo, su cita está reservada!" } else { "You're booked!" },
        K::Reference => if es { "Referencia" } else { "Reference" },
        K::Received => if es { "Recibimos su solicitud" } else { "We have your request" },
        K::Queued => {
            if es {
                "Sin conexión. Enviaremos su solicitud en cuanto vuelva la conexión."
            } else {
                "You're offline. We'll send your request as soon as you're back online."
            }
        }
        K::Sending => if es { "Enviando…" } else { "Sending…" },
        K::Failed => {
            if es {
                "No pudimos enviar su solicitud. Por favor, llámenos."
            } else {
                "We couldn't send your request. Please call us."
            }
        }
        K::EditHint => {
            if es {
                "¿Qué le gustaría cambiar? (por ejemplo: «el teléfono es 612-555-0110»)"
            } else {
                "What would you like to change? (for example: \"my phone is 612-555-0110\")"
            }
        }
        K::Connecting => if es { "Conectando…" } else { "Connecting…" },
        K::NoConfig => {
            if es {
                "No podemos cargar el chat ahora. Inténtelo de nuevo en un momento."
            } else {
                "We can't load the chat right now. Please try again in a moment."
            }
        }
        K::Windows => if es { "Elija una hora de llegada" } else { "Pick an arrival window" },
        K::Limit => {
            if es {
                "Esta conversación es muy larga. Por favor, llámenos."
            } else {
                "This conversation is too long to continue here. Please call us."
            }
        }
        K::Restart => if es { "Empezar de nuevo" } else { "Start over" },
        K::OtherLang => if es { "English" } else { "Español" },
        K::Suggestions => if es { "Respuestas sugeridas" } else { "Suggested replies" },
    }
}

const DAYS_EN: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAYS_ES: [&str; 7] = ["dom", "lun", "mar", "mié", "jue", "vie", "sáb"];
const MONTHS_EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_ES: [&str; 12] = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"];

/// (weekday 0=Sunday, month 0-11, day, hour, minute) of a unix time shifted to local.
fn civil(t: i64, offset_min: i32) -> (usize, usize, u32, u32, u32) {
    let s = t + i64::from(offset_min) * 60;
    let days = s.div_euclid(86_400);
    let secs = s.rem_euclid(86_400);
    let weekday = (days + 4).rem_euclid(7) as usize;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as usize;
    (weekday, m - 1, d, (secs / 3600) as u32, ((secs % 3600) / 60) as u32)
}

fn clock(l: Locale, h: u32, m: u32) -> String {
    if l == Locale::Es {
        return format!("{h}:{m:02}");
    }
    let (h12, ap) = match h {
        0 => (12, "am"),
        1..=11 => (h, "am"),
        12 => (12, "pm"),
        _ => (h - 12, "pm"),
    };
    if m == 0 {
        format!("{h12}{ap}")
    } else {
        format!("{h12}:{m:02}{ap}")
    }
}

/// "Tue Nov 25, 8am–12pm" in the site's local time.
pub(crate) fn window_label(l: Locale, start: i64, end: i64, offset_min: i32) -> String {
    let (wd, mo, d, h, mi) = civil(start, offset_min);
    let (_, _, _, h2, mi2) = civil(end, offset_min);
    let (days, months) = if l == Locale::Es { (DAYS_ES, MONTHS_ES) } else { (DAYS_EN, MONTHS_EN) };
    if l == Locale::Es {
        format!("{} {d} {}, {}–{}", days[wd], months[mo], clock(l, h, mi), clock(l, h2, mi2))
    } else {
        format!("{} {} {d}, {}–{}", days[wd], months[mo], clock(l, h, mi), clock(l, h2, mi2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_window_in_local_time() {
        // 2025-11-25 14:00 UTC = 8:00 CST.
        assert_eq!(window_label(Locale::En, 1_764_079_200, 1_764_093_600, -360), "Tue Nov 25, 8am–12pm");
        assert_eq!(window_label(Locale::Es, 1_764_079_200, 1_764_093_600, -360), "mar 25 nov, 8:00–12:00");
    }
}
