"""Makes the corpus files another tool writes after the station's certification, with
pyHanko's incremental writer. Each operation reads IN and writes IN plus its update(s) to OUT.

  violate KEY CERT        a white box over page 1 (a second content stream) and, in the same
                          revision, an approval signature by KEY/CERT: a change DocMDP P=2 forbids
  approve KEY CERT CA TSA an approval signature by KEY/CERT, timestamped by the TSA at URL TSA,
                          with its validation data (pyHanko fetches OCSP from the dev PKI)
  timestamp TSA           a PAdES document timestamp (ETSI.RFC3161) from the TSA at URL TSA
  dss CERT... OCSP...     a /DSS with the certificates (*.pem) and OCSP responses (*.der) given

usage: python pyhanko_ops.py OP ARGS... IN OUT
"""
import io
import sys
import warnings


def writer(data):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    return IncrementalPdfFileWriter(io.BytesIO(data), strict=False)


def free_field(w):
    from pyhanko.sign import fields
    used = {name for name, _, _ in fields.enumerate_sig_fields(w)}
    return next(f'Signature{i}' for i in range(1, 100) if f'Signature{i}' not in used)


def sign(w, key, cert, ca=None, tsa=None):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko_certvalidator import ValidationContext
    signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(ca,) if ca else (), key_passphrase=None)
    meta = signers.PdfSignatureMetadata(field_name=free_field(w), subfilter=fields.SigSeedSubFilter.PADES)
    stamper = None
    if tsa:
        stamper = timestamps.HTTPTimeStamper(tsa)
        meta = signers.PdfSignatureMetadata(
            field_name=meta.field_name, subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True,
            validation_context=ValidationContext(trust_roots=[load_cert_from_pemder(ca)], allow_fetching=True),
        )
    out = io.BytesIO()
    signers.sign_pdf(w, meta, signer=signer, timestamper=stamper, output=out)
    return out.getvalue()


def violate(data, key, cert):
    from pyhanko.pdf_utils import generic
    w = writer(data)
    page = w.root['/Pages']['/Kids'][0].get_object()
    box = w.add_object(generic.StreamObject(stream_data=b'q 1 1 1 rg 0 0 10000 10000 re f Q'))
    old = page.raw_get('/Contents')
    page['/Contents'] = generic.ArrayObject(
        (list(old) if isinstance(old.get_object(), generic.ArrayObject) else [old]) + [box])
    w.update_container(page)
    return sign(w, key, cert)


def approve(data, key, cert, ca, tsa):
    return sign(writer(data), key, cert, ca, tsa)


def timestamp(data, tsa):
    from pyhanko.sign import signers, timestamps
    out = io.BytesIO()
    signers.PdfTimeStamper(timestamps.HTTPTimeStamper(tsa)).timestamp_pdf(writer(data), 'sha256', output=out)
    return out.getvalue()


def dss(data, *files):
    from asn1crypto import ocsp
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    certs = [load_cert_from_pemder(f) for f in files if f.endswith('.pem')]
    ocsps = []
    for f in files:
        if f.endswith('.der'):
            with open(f, 'rb') as fh:
                ocsps.append(ocsp.OCSPResponse.load(fh.read()))
    sig = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0]
    buf = io.BytesIO(data)
    DocumentSecurityStore.add_dss(buf, sig.pkcs7_content, certs=certs, ocsps=ocsps, strict=False)
    return buf.getvalue()


OPS = {'violate': violate, 'approve': approve, 'timestamp': timestamp, 'dss': dss}


def main():
    warnings.simplefilter('ignore')
    op, *args = sys.argv[1:]
    *extra, src, dst = args
    with open(src, 'rb') as f:
        data = f.read()
    out = OPS[op](data, *extra)
    with open(dst, 'wb') as f:
        f.write(out)


if __name__ == '__main__':
    main()
