//! The messages: the site's templates, else these, with the customer's first name, the
//! business name and a link filled in. What ServiceTitan says is text: placeholders are
//! filled once, left to right, so a name that looks like `{link}` stays a name.

use super::Recipe;
use crate::booking::Locale;

/// The built-in template of `recipe` in `locale`.
pub(crate) fn builtin(recipe: Recipe, locale: Locale) -> &'static str {
    match locale {
        Locale::Es => builtin_es(recipe),
        Locale::En => builtin_en(recipe),
    }
}

fn builtin_en(recipe: Recipe) -> &'static str {
    match recipe {
        Recipe::EstimateSms => "Hi {firstName}, this is {businessName}. Any questions about the estimate we sent? We're happy to help. {link} Reply STOP to opt out.",
        Recipe::EstimateViewed => "Hi {firstName}, thanks for looking over your estimate from {businessName}. Questions, or ready to get on the schedule? {link} Reply STOP to opt out.",
        Recipe::EstimateCall => "Hi {firstName}, this is an automated assistant calling for {businessName} about the estimate we sent you. If you'd rather not get these calls, just say stop.",
        Recipe::JobReminder => "Hi {firstName}, a reminder from {businessName}: we'll see you {when}. Need to change it? {link} Reply STOP to opt out.",
        Recipe::ReviewRequest => "Hi {firstName}, thank you for choosing {businessName}! Would you leave us a quick review? {link} Reply STOP to opt out.",
        Recipe::DunningSms => "Hi {firstName}, a friendly reminder from {businessName}: invoice {invoice} has {amount} due. {link} Reply STOP to opt out.",
        Recipe::DunningEmail => "Invoice {invoice} from {businessName}: {amount} due\nHi {firstName},\n\nA friendly reminder that invoice {invoice} has a balance of {amount}. You can pay it here: {link}\n\nIf you've already paid, thank you, and please ignore this message.\n\n{businessName}",
        Recipe::NoShow => "Hi {firstName}, this is {businessName}. Sorry we missed each other! Want to pick a new time? {link} Reply STOP to opt out.",
    }
}

fn builtin_es(recipe: Recipe) -> &'static str {
    match recipe {
        Recipe::EstimateSms => "Hola {firstName}, le saluda {businessName}. ¿Tiene preguntas sobre el presupuesto que le enviamos? Con gusto le ayudamos. {link} Responda STOP para no recibir más mensajes.",
        Recipe::EstimateViewed => "Hola {firstName}, gracias por revisar su presupuesto de {businessName}. ¿Preguntas, o lo agendamos? {link} Responda STOP para no recibir más mensajes.",
        Recipe::EstimateCall => "Hola {firstName}, le habla un asistente automático de {businessName} sobre el presupuesto que le enviamos. Si prefiere no recibir estas llamadas, solo diga alto.",
        Recipe::JobReminder => "Hola {firstName}, un recordatorio de {businessName}: le visitamos el {when}. ¿Necesita cambiarlo? {link} Responda STOP para no recibir más mensajes.",
        Recipe::ReviewRequest => "Hola {firstName}, ¡gracias por elegir a {businessName}! ¿Nos deja una reseña? {link} Responda STOP para no recibir más mensajes.",
        Recipe::DunningSms => "Hola {firstName}, un recordatorio de {businessName}: la factura {invoice} tiene un saldo de {amount}. {link} Responda STOP para no recibir más mensajes.",
        Recipe::DunningEmail => "Factura {invoice} de {businessName}: saldo de {amount}\nHola {firstName}:\n\nLe recordamos que la factura {invoice} tiene un saldo de {amount}. Puede pagarla aquí: {link}\n\nSi ya la pagó, muchas gracias; ignore este mensaje.\n\n{businessName}",
        Recipe::NoShow => "Hola {firstName}, le saluda {businessName}. ¡Lamentamos no haber coincidido! ¿Buscamos otra hora? {link} Responda STOP para no recibir más mensajes.",
    }
}

/// `template` with each `{name}` of `values` filled in, once; an unknown placeholder is
/// left out. Spaces doubled by an empty value (no link) are closed up.
pub(crate) fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].bytes().all(|b| b.is_ascii_alphanumeric()) => {
                let name = &after[..close];
                if let Some((_, v)) = values.iter().find(|(k, _)| *k == name) {
                    out.push_str(v);
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    tidy(&out)
}

/// Collapses runs of spaces within each line and trims line ends.
fn tidy(s: &str) -> String {
    s.lines()
        .map(|line| line.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A name from ServiceTitan, safe in a message: no control characters, at most 40
/// characters, and braces dropped so it can never read as a placeholder.
pub(crate) fn clean_name(name: &str) -> String {
    name.chars().filter(|c| !c.is_control() && !matches!(c, '{' | '}')).take(40).collect::<String>().trim().to_string()
}

/// Cents as dollars: `$1,234.50`.
pub(crate) fn dollars(cents: i64) -> String {
    let (sign, cents) = if cents < 0 { ("-", cents.unsigned_abs()) } else { ("", cents.unsigned_abs()) };
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_once_and_drops_unknowns() {
        let t = "Hi {firstName}, {link} {nope}bye {not a placeholder}";
        assert_eq!(render(t, &[("firstName", "{link}"), ("link", "")]), "Hi {link}, bye {not a placeholder}");
        assert_eq!(dollars(123456), "$1,234.56");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(clean_name("Da\u{7}na {x}"), "Dana x");
    }
}
