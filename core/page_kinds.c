/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pages a person sees when something goes wrong (page_kinds.h). */
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
