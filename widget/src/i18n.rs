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
    Emergency,
    Booked,
    Reference,
    Received,
    Queued,
    Sending,
    Failed,
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
        K::OpenChat => {
            if es {
                "Abrir el chat"
            } else {
                "Chat with us"
            }
        }
        K::Close => {
            if es {
                "Cerrar el chat"
            } else {
                "Close chat"
            }
        }
        K::InputLabel => {
            if es {
                "Su mensaje"
            } else {
                "Your message"
            }
        }
        K::Placeholder => {
            if es {
                "Escriba aquí…"
            } else {
                "Type here…"
            }
        }
        K::Send => {
            if es {
                "Enviar"
            } else {
                "Send"
            }
        }
        K::Talk => {
            if es {
                "Hablar con una persona"
            } else {
                "Talk to a person"
            }
        }
        K::Hours => {
            if es {
                "Horario"
            } else {
                "Office hours"
            }
        }
        K::Typing => {
            if es {
                "Escribiendo…"
            } else {
                "Typing…"
            }
        }
        K::CardTitle => {
            if es {
                "Casi listo: revise los datos y toque Reservar"
            } else {
                "Almost done: check the details, then tap Book it"
            }
        }
        K::Book => {
            if es {
                "Reservar"
            } else {
                "Book it"
            }
        }
        K::Edit => {
            if es {
                "Editar"
            } else {
                "Edit"
            }
        }
        K::Sms => {
            if es {
                "Envíenme mensajes de texto sobre esta visita"
            } else {
                "Text me updates about this visit"
            }
        }
        K::Emergency => {
            if es {
                "Si huele a gas, suena una alarma de CO o hay peligro, salga de la casa y llame al 911. Luego llámenos:"
            } else {
                "If you smell gas, a CO alarm is sounding or anyone is in danger, leave the house and call 911. Then call us:"
            }
        }
        K::Booked => {
            if es {
                "¡Listo, su cita está reservada!"
            } else {
                "You're booked!"
            }
        }
        K::Reference => {
            if es {
                "Referencia"
            } else {
                "Reference"
            }
        }
        K::Received => {
            if es {
                "Recibimos su solicitud"
            } else {
                "We have your request"
            }
        }
        K::Queued => {
            if es {
                "Sin conexión. Enviaremos su solicitud en cuanto vuelva la conexión."
            } else {
                "You're offline. We'll send your request as soon as you're back online."
            }
        }
        K::Sending => {
            if es {
                "Enviando…"
            } else {
                "Sending…"
            }
        }
        K::Failed => {
            if es {
                "No pudimos enviar su solicitud. Por favor, llámenos."
            } else {
                "We couldn't send your request. Please call us."
            }
        }
        K::Connecting => {
            if es {
                "Conectando…"
            } else {
                "Connecting…"
            }
        }
        K::NoConfig => {
            if es {
                "No podemos cargar el chat ahora. Inténtelo de nuevo en un momento."
            } else {
                "We can't load the chat right now. Please try again in a moment."
            }
        }
        K::Windows => {
            if es {
                "Elija una hora de llegada"
            } else {
                "Pick an arrival window"
            }
        }
        K::Limit => {
            if es {
                "Esta conversación es muy larga. Por favor, llámenos."
            } else {
                "This conversation is too long to continue here. Please call us."
            }
        }
        K::Restart => {
            if es {
                "Empezar de nuevo"
            } else {
                "Start over"
            }
        }
        K::OtherLang => {
            if es {
                "English"
            } else {
                "Español"
            }
        }
        K::Suggestions => {
            if es {
                "Respuestas sugeridas"
            } else {
                "Suggested replies"
            }
        }
    }
}
