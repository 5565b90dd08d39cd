"""Makes the later revisions the modification tests judge, with pyHanko's own writer.

Each operation reads IN and writes IN plus one incremental update to OUT:

  certify P     certification signature (DocMDP P), invisible, field Signature1
  approve       approval signature, invisible, next free field
  approve-anyway  the same, even where the certification forbids it
  approve-visible  approval signature with a visible widget on page 1
  timestamp     PAdES document timestamp (ETSI.RFC3161), invisible
  dss           a /DSS with the signer's certificates and a /VRI entry for the first signature
  whitebox      a white rectangle over page 1: a second content stream added to its /Contents
  annotate      a square annotation (with an appearance) added to page 1's /Annots
  addpage       a blank page appended to the page tree
  xmp           the XMP metadata stream replaced by a well-formed one
  info          the document information dictionary updated
  rewrite-content  page 1's content stream object overwritten in place

usage: python mutate.py OP [P] IN OUT --key K --cert C --ca CA --tsa-key TK --tsa-cert TC
"""
import argparse
import io
import sys
import warnings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('op')
    ap.add_argument('args', nargs='+')
    for opt in ('--key', '--cert', '--ca', '--tsa-key', '--tsa-cert'):
        ap.add_argument(opt)
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    *extra, src, dst = a.args
    with open(src, 'rb') as f:
        data = f.read()
    out = OPS[a.op](a, data, *extra)
    with open(dst, 'wb') as f:
        f.write(out)


def signer(a):
    from pyhanko.sign import signers
    return signers.SimpleSigner.load(a.key, a.cert, ca_chain_files=(a.ca,), key_passphrase=None)


def writer(data):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    return IncrementalPdfFileWriter(io.BytesIO(data), strict=False)


def sign(a, data, certify=False, perm=None, visible=False):
    from pyhanko.sign import fields, signers
    w = writer(data)
    name = next(f'Signature{i}' for i in range(1, 100)
                if not any(fn == f'Signature{i}' for fn, _, _ in fields.enumerate_sig_fields(w)))
    if visible:
        fields.append_signature_field(w, fields.SigFieldSpec(name, on_page=0, box=(50, 50, 250, 110)))
    meta = signers.PdfSignatureMetadata(
        field_name=name, certify=certify, subfilter=fields.SigSeedSubFilter.PADES,
        docmdp_permissions=fields.MDPPerm(perm) if perm else fields.MDPPerm.FILL_FORMS,
    )
    out = io.BytesIO()
    signers.sign_pdf(w, meta, signer=signer(a), output=out)
    return out.getvalue()


def certify(a, data, p):
    return sign(a, data, certify=True, perm=int(p))


def approve(a, data):
    return sign(a, data)


def approve_anyway(a, data):
    # pyHanko will not sign a document certified with P=1; this makes the
    # update a careless or hostile tool would.
    from pyhanko.sign.signers.pdf_signer import PdfSigner
    PdfSigner._enforce_certification_constraints = lambda self, reader: None
    return sign(a, data)


def approve_visible(a, data):
    return sign(a, data, visible=True)


def timestamp(a, data):
    from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
    from pyhanko.sign import signers
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    tsa = DummyTimeStamper(load_cert_from_pemder(a.tsa_cert), load_private_key_from_pemder(a.tsa_key, None))
    out = io.BytesIO()
    signers.PdfTimeStamper(tsa).timestamp_pdf(writer(data), 'sha256', output=out)
    return out.getvalue()


def dss(a, data):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    sig = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0]
    buf = io.BytesIO(data)
    DocumentSecurityStore.add_dss(
        buf, sig.pkcs7_content, certs=[load_cert_from_pemder(a.cert), load_cert_from_pemder(a.ca)],
        strict=False,
    )
    return buf.getvalue()


def first_page(w):
    return w.root['/Pages']['/Kids'][0]


def whitebox(a, data):
    from pyhanko.pdf_utils import generic
    w = writer(data)
    ref = first_page(w)
    page = ref.get_object()
    box = w.add_object(generic.StreamObject(stream_data=b'q 1 1 1 rg 0 0 595 842 re f Q'))
    old = page.raw_get('/Contents')
    page['/Contents'] = generic.ArrayObject(
        (list(old) if isinstance(old.get_object(), generic.ArrayObject) else [old]) + [box])
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def annotate(a, data):
    from pyhanko.pdf_utils import generic
    w = writer(data)
    page_ref = first_page(w)
    page = page_ref.get_object()
    n = generic.NameObject
    ap = w.add_object(generic.StreamObject(
        {n('/Type'): n('/XObject'), n('/Subtype'): n('/Form'),
         n('/BBox'): generic.ArrayObject([generic.NumberObject(0)] * 2 + [generic.NumberObject(100)] * 2)},
        stream_data=b'1 0 0 RG 0 0 100 100 re S'))
    annot = w.add_object(generic.DictionaryObject({
        n('/Type'): n('/Annot'), n('/Subtype'): n('/Square'), n('/F'): generic.NumberObject(4),
        n('/Rect'): generic.ArrayObject([generic.NumberObject(v) for v in (300, 300, 400, 400)]),
        n('/Contents'): generic.TextStringObject('checked'), n('/P'): page_ref,
        n('/AP'): generic.DictionaryObject({n('/N'): ap}),
    }))
    annots = page.get('/Annots')
    if annots is None:
        page['/Annots'] = generic.ArrayObject([annot])
    else:
        annots.get_object().append(annot)
        if isinstance(page.raw_get('/Annots'), generic.IndirectObject):
            w.update_container(page.raw_get('/Annots'))
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def addpage(a, data):
    from pyhanko.pdf_utils import generic
    w = writer(data)
    pages_ref = w.root.raw_get('/Pages')
    pages = pages_ref.get_object()
    n = generic.NameObject
    page = w.add_object(generic.DictionaryObject({
        n('/Type'): n('/Page'), n('/Parent'): pages_ref,
        n('/MediaBox'): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
        n('/Resources'): generic.DictionaryObject(),
    }))
    pages['/Kids'].append(page)
    pages['/Count'] = generic.NumberObject(pages['/Count'] + 1)
    w.update_container(pages)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def xmp(a, data):
    from pyhanko.pdf_utils import generic
    w = writer(data)
    n = generic.NameObject
    body = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">changed</rdf:li></rdf:Alt></dc:title>'
            b'</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>')
    meta = w.add_object(generic.StreamObject({n('/Type'): n('/Metadata'), n('/Subtype'): n('/XML')}, stream_data=body))
    w.root['/Metadata'] = meta
    w.update_root()
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def info(a, data):
    from pyhanko.pdf_utils import generic
    w = writer(data)
    w.set_info(generic.DictionaryObject({generic.NameObject('/Title'): generic.TextStringObject('changed')}))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def rewrite_content(a, data):
    from pyhanko.pdf_utils import generic
    w = writer(data)
    page = first_page(w).get_object()
    ref = page.raw_get('/Contents')
    stream = ref.get_object()
    stream._data = b'q 1 1 1 rg 0 0 595 842 re f Q'
    stream._encoded_data = None
    stream.pop('/Filter', None)
    w.mark_update(ref)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


OPS = {
    'certify': certify, 'approve': approve, 'approve-anyway': approve_anyway, 'approve-visible': approve_visible, 'timestamp': timestamp,
    'dss': dss, 'whitebox': whitebox, 'annotate': annotate, 'addpage': addpage, 'xmp': xmp, 'info': info,
    'rewrite-content': rewrite_content,
}

if __name__ == '__main__':
    main()
