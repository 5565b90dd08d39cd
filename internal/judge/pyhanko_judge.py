"""Asks pyHanko's library, not its command line, what it thinks of a PDF's signatures.

Prints one JSON object on stdout and nothing else there, so a warning that pyHanko or one of its
dependencies prints (on stderr) can never become part of the answer. Used by internal/judge.

usage: python pyhanko_judge.py [--trust CERT]... [--ades] PDF
"""
import argparse
import asyncio
import json
import sys
import warnings


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--trust', action='append', default=[])
    parser.add_argument('--ades', action='store_true')
    parser.add_argument('pdf')
    args = parser.parse_args()

    # Deprecation chatter goes to stderr, never into the verdict.
    warnings.simplefilter('default')

    from pyhanko.keys import load_certs_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.pdf_embedded import read_certification_data
    from pyhanko_certvalidator import ValidationContext

    roots = list(load_certs_from_pemder(args.trust))
    answer = {'signatures': [], 'document_timestamps': 0}
    with open(args.pdf, 'rb') as f:
        reader = PdfFileReader(f)
        try:  # the catalog's /Perms /DocMDP, if any; one pyHanko cannot read certifies nothing
            certification = read_certification_data(reader)
        except Exception:
            certification = None
        answer['document_timestamps'] = sum(
            1 for s in reader.embedded_signatures if s.sig_object.get('/Type') == '/DocTimeStamp'
        )
        for sig in reader.embedded_regular_signatures:
            entry = {
                'field': sig.field_name,
                'subfilter': str(sig.sig_object.get('/SubFilter')),
                'docmdp_level': sig.docmdp_level.name if sig.docmdp_level is not None else None,
                'certification': certification is not None
                and sig.sig_object.container_ref == certification.author_sig.container_ref,
            }
            try:
                # No revocation service runs for the test CAs, as `pyhanko sign validate
                # --no-revocation-check` would do it.
                vc = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode='soft-fail')
                status = validate_pdf_signature(sig, signer_validation_context=vc)
                ts = status.timestamp_validity
                entry.update({
                    'summary': status.summary(),
                    'bottom_line': bool(status.bottom_line),
                    'intact': bool(status.intact),
                    'valid': bool(status.valid),
                    'trusted': bool(status.trusted),
                    'coverage': status.coverage.name if status.coverage is not None else None,
                    'modification_level': status.modification_level.name if status.modification_level is not None else None,
                    'docmdp_ok': status.docmdp_ok,
                    'timestamp': None if ts is None else {
                        'intact': bool(ts.intact), 'valid': bool(ts.valid), 'trusted': bool(ts.trusted),
                    },
                })
            except Exception as e:  # the verdict on this signature is: it could not be validated
                entry.update({'summary': 'ERROR', 'bottom_line': False, 'error': f'{type(e).__name__}: {e}'})
            if args.ades:
                entry['ades'] = ades(sig, roots)
            answer['signatures'].append(entry)
    json.dump(answer, sys.stdout)
    sys.stdout.write('\n')


def ades(sig, roots):
    """EN 319 102-1 validation of one signature, as `pyhanko sign adesverify --no-revocation-check`."""
    from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import PdfSignatureValidationSpec, SignatureValidationSpec
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.policy_decl import NO_REVOCATION, CertRevTrustPolicy
    from pyhanko_certvalidator.registry import SimpleTrustManager

    cert_policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=roots),
        revinfo_policy=CertRevTrustPolicy(NO_REVOCATION),
    )
    policy = PdfSignatureValidationSpec(
        signature_validation_spec=SignatureValidationSpec(cert_validation_policy=cert_policy),
        diff_policy=DEFAULT_DIFF_POLICY,
    )
    try:
        result = asyncio.run(ades_lta_validation(sig, policy, timing_info=ValidationTimingInfo.now()))
    except Exception as e:
        return {'indication': 'ERROR', 'sub_indication': None, 'error': f'{type(e).__name__}: {e}'}
    sub, status = result.ades_subindic, result.api_status
    # What `adesverify` prints and exits by is the status's bottom line; the indication is
    # EN 319 102-1's (INDETERMINATE for a signature without a timestamp, for one).
    return {
        'indication': sub.status.name, 'sub_indication': sub.name, 'error': result.failure_msg,
        'summary': status.summary() if status is not None else None,
        'bottom_line': bool(status is not None and status.bottom_line),
    }


if __name__ == '__main__':
    main()
