/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pages a person sees when something goes wrong (page_kinds.h). */
#include "apr_escape.h"
#include "apr_strings.h"

#include "page_kinds.h"

static const kmen_page_text pages[] = {
    {400, "bad_request", "Neplatný požadavek", "Požadavek nelze zpracovat.", "Invalid request",
     "The request cannot be processed."},
    {400, "login_invalid", "Přihlášení se nezdařilo",
     "Přihlášení nelze dokončit. Začněte prosím znovu.", "Login failed",
     "The login cannot be completed. Please start again."},
    {401, "login_failed", "Přihlášení bylo zrušeno nebo se nezdařilo",
     "Identitní prostor přihlášení nepotvrdil.", "Login cancelled or failed",
     "The identity provider did not confirm the login."},
    {403, "loa_too_low", "Je potřeba silnější přihlášení",
     "Tato část vyžaduje přihlášení s vyšší úrovní záruky.", "A stronger login is needed",
     "This part requires a login with a higher level of assurance."},
    {503, "unavailable", "Služba je dočasně nedostupná", "Zkuste to prosím za chvíli znovu.",
     "Temporarily unavailable", "Please try again in a moment."},
    {404, "not_found", "Stránka nenalezena", "Tato adresa neexistuje.", "Not found",
     "There is nothing at this address."},
    {409, "verify_refused", "Ověření nelze dokončit",
     "Ověření totožnosti nebylo možné zapsat. Začněte prosím znovu.",
     "The verification cannot be completed",
     "The verification could not be recorded. Please start again."},
    {403, "not_verified", "Je potřeba ověření totožnosti",
     "Tato část je přístupná až po ověření vaší totožnosti.", "Verification needed",
     "This part is open only after your identity has been verified."},
    {429, "too_many_logins", "Příliš mnoho přihlášení",
     "Z této adresy začalo příliš mnoho přihlášení. Zkuste to prosím za minutu znovu.",
     "Too many logins",
     "Too many logins were started from this address. Please try again in a "
     "minute."},
    {200, "logout_confirm", "Odhlásit se?",
     "Odhlášení nepřišlo ze stránek tohoto portálu. Potvrďte ho prosím.", "Log out?",
     "The logout did not come from this portal's pages. Please confirm it."},
    {401, "login_needed", "Je potřeba se přihlásit",
     "Tento požadavek lze vyřídit až po přihlášení. Přihlaste se prosím a opakujte ho.",
     "Login needed",
     "This request can be carried out only after a login. Please log in and repeat it."},
    {500, "internal_error", "Chyba serveru",
     "Požadavek nelze vyřídit kvůli chybě na serveru. Sdělte prosím správci identifikátor níže.",
     "Server error",
     "The request cannot be carried out because of an error on the server. Please tell the "
     "administrator the request ID below."},
    {502, "logout_incomplete", "Odhlášení nemusí být dokončeno",
     "Z tohoto portálu jste odhlášeni, ale Národní identitní autorita odhlášení nepotvrdila. "
     "Pokud jste na sdíleném počítači, zavřete prosím prohlížeč.",
     "The logout may not be complete",
     "You are logged out of this portal, but the national identity authority did not confirm "
     "the logout. On a shared computer, please close the browser."},
};

const kmen_page_text *kmen_page_of(kmen_page page)
{
    return &pages[page];
}

const char *kmen_page_render(apr_pool_t *p, kmen_page page, const char *action,
                             const char *request_id)
{
    const kmen_page_text *t = kmen_page_of(page);
    return apr_psprintf(
        p,
        "<!DOCTYPE html>\n<html lang=\"cs\">\n<head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>%s / %s</title></head>\n<body>\n<main>\n<h1>%s</h1>\n<p>%s</p>\n%s"
        "<section lang=\"en\">\n<h2>%s</h2>\n<p>%s</p>\n</section>\n"
        "<p><small>Identifikátor požadavku / Request ID: <code>%s</code></small></p>\n"
        "</main>\n</body>\n</html>\n",
        t->title_cs, t->title_en, t->title_cs, t->text_cs, action, t->title_en, t->text_en,
        apr_pescape_entity(p, request_id, 0));
}

const char *kmen_page_retry_link(apr_pool_t *p, const char *retry_url)
{
    if (!retry_url)
        return "";
    const char *href = apr_pescape_entity(p, retry_url, 0);
    return apr_pstrcat(p, "<p><a href=\"", href, "\">Přihlásit se znovu</a> / <a href=\"", href,
                       "\" lang=\"en\">Log in again</a></p>\n", NULL);
}

const char *kmen_page_logout_form(apr_pool_t *p, const char *url, const char *token,
                                  const char *return_to)
{
    return apr_pstrcat(
        p, "<form method=\"post\" action=\"", apr_pescape_entity(p, url, 0),
        "\">\n<input type=\"hidden\" name=\"token\" value=\"", token,
        "\">\n<input type=\"hidden\" name=\"ReturnTo\" value=\"",
        apr_pescape_entity(p, return_to, 0),
        "\">\n<p><button type=\"submit\">Odhlásit se / Log out</button></p>\n</form>\n", NULL);
}
