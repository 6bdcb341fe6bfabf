/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NIA's LogoutResponse, by HTTP-Redirect or HTTP-POST, signed or not.
 *
 * NIA answers the SP's LogoutRequest with an unsigned LogoutResponse posted
 * to the SP's logout URL. Anyone can make one, so what it may do is small:
 * the local session ended when the logout started, and a LogoutResponse only
 * decides where the person lands (handlers.c honours it only for the logout
 * this browser started). It is read as a Response is (saml_shape.c: no
 * DOCTYPE, no comment, algorithms within policy) and never given to lasso's
 * parser unless it carries a signature to verify; a signature it carries,
 * in the query or in the XML, must be the IdP's. */
#include <string.h>

#include <zlib.h>

#include "apr_base64.h"
#include "apr_escape.h"
#include "apr_strings.h"

#include "crypto.h"
#include "pairs.h"
#include "saml_private.h"

/* NIA's LogoutResponse is under 4 KiB; this bounds what a deflated one may
 * grow to (a deflate bomb stops here). */
#define LOGOUT_RESPONSE_MAX (64 * 1024)

/* The XML of a base64 SAMLResponse, inflated when DEFLATED (HTTP-Redirect). */
static const char *message_xml(apr_pool_t *p, const char *b64, int deflated, apr_size_t *len)
{
    if (!b64 || !kmen_base64_is_valid(b64))
        return NULL;
    unsigned char *raw = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b64) + 1);
    int raw_len = apr_base64_decode_binary(raw, b64);
    if (!deflated) {
        *len = (apr_size_t)raw_len;
        return (const char *)raw;
    }
    unsigned char *xml = apr_palloc(p, LOGOUT_RESPONSE_MAX);
    z_stream z = {.next_in = raw, .avail_in = (uInt)raw_len};
    if (inflateInit2(&z, -15) != Z_OK) /* raw DEFLATE, no zlib header (SAML bindings 3.4.4.1) */
        return NULL;
    z.next_out = xml;
    z.avail_out = LOGOUT_RESPONSE_MAX;
    int rc = inflate(&z, Z_FINISH);
    *len = LOGOUT_RESPONSE_MAX - z.avail_out;
    inflateEnd(&z);
    return rc == Z_STREAM_END ? (const char *)xml : NULL;
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Destination, Issuer, InResponseTo and the top-level StatusCode. */
static const char *read_envelope(apr_pool_t *p, kmen_sp *sp, xmlNode *root, kmen_logout_answer *out)
{
    xmlNode *status = kmen_xml_child(root, KMEN_NS_SAMLP, "Status");
    out->in_response_to = kmen_xml_attribute(p, root, "InResponseTo");
    out->status =
        kmen_xml_attribute(p, kmen_xml_child(status, KMEN_NS_SAMLP, "StatusCode"), "Value");
    if (!same(kmen_xml_attribute(p, root, "Destination"), sp->params.slo_url))
        return "Destination is not this SP's logout URL";
    if (!same(kmen_xml_text(p, kmen_xml_child(root, KMEN_NS_SAML, "Issuer")), sp->idp.entity_id))
        return "Issuer is not the IdP";
    if (!out->in_response_to || !*out->in_response_to)
        return "no InResponseTo";
    if (!out->status)
        return "no StatusCode";
    out->success = strcmp(out->status, "urn:oasis:names:tc:SAML:2.0:status:Success") == 0;
    return NULL;
}

/* The enveloped signature of the message's root, by an IdP key. */
static const char *verify_xml_signature(kmen_sp *sp, xmlNode *root)
{
    const char *err = NULL;
    LassoServer *server = kmen_sp_server_acquire(sp, &err);
    if (!server)
        return err;
    LassoProvider *idp = lasso_server_get_provider(server, sp->idp.entity_id);
    LassoNode *node = lasso_node_new_from_xmlNode(root);
    int rc = idp && node ? lasso_provider_verify_single_node_signature(idp, node, "ID") : -1;
    if (node)
        lasso_node_destroy(node);
    kmen_sp_server_release(sp, server);
    return rc == 0 ? NULL : "the LogoutResponse's XML signature is not the IdP's";
}

/* A query signature counts as present when either of its parameters is. */
static int query_signed(apr_pool_t *p, const char *query)
{
    return kmen_pair_value(p, query, '&', "Signature") || kmen_pair_value(p, query, '&', "SigAlg");
}

/* kmen_saml_logout_response_read with the read lock held: the IdP metadata
 * cannot change under it (saml_reload.c). */
static const char *logout_response_read_locked(kmen_sp *sp, apr_pool_t *p, const char *query,
                                               const char *post_b64, kmen_logout_answer *out)
{
    const char *b64 = post_b64, *err = NULL;
    memset(out, 0, sizeof(*out));
    if (query) {
        if (query_signed(p, query) && (err = kmen_redirect_verify(p, sp->idp.signing_keys, query)))
            return err;
        int twice = 0;
        const char *raw = kmen_pair_single_value(p, query, '&', "SAMLResponse", &twice);
        b64 = raw && !twice ? apr_punescape_url(p, raw, NULL, NULL, 0) : NULL;
    }
    apr_size_t len = 0;
    const char *xml = message_xml(p, b64, query != NULL, &len);
    if (!xml)
        return "SAMLResponse is not base64 (or, by HTTP-Redirect, DEFLATE within 64 KiB)";
    kmen_response_shape shape;
    if ((err = kmen_logout_response_xml_check(p, xml, len, &shape)))
        return err;
    if (shape.signed_response && (err = verify_xml_signature(sp, shape.root)))
        return err;
    return read_envelope(p, sp, shape.root, out);
}

const char *kmen_saml_logout_response_read(kmen_sp *sp, apr_pool_t *p, const char *query,
                                           const char *post_b64, kmen_logout_answer *out)
{
    kmen_sp_use_begin(sp);
    const char *err = logout_response_read_locked(sp, p, query, post_b64, out);
    kmen_sp_use_end(sp);
    return err;
}
