// DSSJudge asks EU DSS (the European Commission's Digital Signature Service) for its verdict
// on PAdES files, the way the EU's own validator would give it: DSS's default validation
// policy, only the trust anchors named on the command line, and nothing fetched from the
// network.
//
//   dss-judge [--policy POLICY.xml] --trust CA.pem [--trust MORE.pem ...] FILE.pdf [FILE.pdf ...]
//
// --policy judges with that validation policy (DSS's constraint.xml format) instead of the
// default one, with the same cryptographic suite as the default (the one the policy holds):
// a test that needs DSS to enforce what its default policy only warns of (DocMDP) says so in
// a file of its own. A policy that cannot be read is a wrong command line (exit 2), never a
// quiet fall back to the default, which DSS's validateDocument(File) does for a missing file.
//
// It prints one JSON object per file on stdout, one per line, in the order of the files.
// Exit 0 means every file got its report, whatever the verdict; 1 means at least one file
// could not be judged (its object says why in "error"); 2 means the command line was wrong.
// DSS logs on stderr; nothing there is part of the answer (scripts/setup.sh's wrapper turns
// the logging off; DSS_JUDGE_LOG=debug turns it back on).
//
// scripts/setup.sh compiles this file against the pinned jars (scripts/pins/dss/pom.xml);
// internal/judge reads its output.

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;

import eu.europa.esig.dss.diagnostic.DiagnosticData;
import eu.europa.esig.dss.diagnostic.TimestampWrapper;
import eu.europa.esig.dss.model.FileDocument;
import eu.europa.esig.dss.model.policy.ValidationPolicy;
import eu.europa.esig.dss.model.x509.CertificateToken;
import eu.europa.esig.dss.pades.validation.PDFDocumentValidator;
import eu.europa.esig.dss.simplereport.jaxb.XmlDetails;
import eu.europa.esig.dss.simplereport.jaxb.XmlMessage;
import eu.europa.esig.dss.simplereport.jaxb.XmlSignature;
import eu.europa.esig.dss.simplereport.jaxb.XmlSimpleReport;
import eu.europa.esig.dss.simplereport.jaxb.XmlTimestamp;
import eu.europa.esig.dss.simplereport.jaxb.XmlToken;
import eu.europa.esig.dss.spi.validation.CommonCertificateVerifier;
import eu.europa.esig.dss.spi.x509.CommonTrustedCertificateSource;
import eu.europa.esig.dss.validation.policy.ValidationPolicyLoader;
import eu.europa.esig.dss.validation.reports.Reports;

public final class DSSJudge {
	public static void main(String[] args) throws Exception {
		// Whatever a library prints on stdout would corrupt the JSON: only this stream is ours.
		PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
		System.setOut(System.err);

		List<String> trust = new ArrayList<>();
		List<String> files = new ArrayList<>();
		String policyPath = null;
		for (int i = 0; i < args.length; i++) {
			if (args[i].equals("--trust") && i + 1 < args.length) {
				trust.add(args[++i]);
			} else if (args[i].equals("--policy") && i + 1 < args.length) {
				if (policyPath != null) {
					usage("--policy given twice");
				}
				policyPath = args[++i];
			} else if (args[i].startsWith("-")) {
				usage("unknown option " + args[i]);
			} else {
				files.add(args[i]);
			}
		}
		if (trust.isEmpty()) {
			usage("no trust anchor: give at least one --trust CA.pem");
		}
		if (files.isEmpty()) {
			usage("no file to judge");
		}

		CommonTrustedCertificateSource anchors = new CommonTrustedCertificateSource();
		for (String f : trust) {
			List<CertificateToken> certs;
			try {
				certs = loadCertificates(f);
			} catch (Exception e) {
				System.err.println("dss-judge: reading the trust anchor " + f + ": " + e);
				System.exit(2);
				return;
			}
			if (certs.isEmpty()) {
				System.err.println("dss-judge: the trust anchor " + f + " holds no certificate");
				System.exit(2);
			}
			certs.forEach(anchors::addCertificate);
		}

		// Read once: a policy that cannot be read fails the run before any file is judged.
		// DSS reads its default policy afresh for each file; so do we, to keep the two alike.
		if (policyPath != null) {
			try {
				loadPolicy(policyPath);
			} catch (Exception e) {
				System.err.println("dss-judge: reading the validation policy " + policyPath + ": " + e);
				System.exit(2);
				return;
			}
		}

		boolean allJudged = true;
		for (String f : files) {
			String json;
			try {
				json = judge(f, verifier(anchors), policyPath);
			} catch (Exception e) {
				allJudged = false;
				json = "{\"file\":" + str(f) + ",\"error\":" + str(e.toString()) + "}";
			}
			out.println(json);
		}
		out.flush();
		System.exit(allJudged ? 0 : 1);
	}

	static void usage(String why) {
		System.err.println("dss-judge: " + why);
		System.err.println("usage: dss-judge [--policy POLICY.xml] --trust CA.pem [--trust MORE.pem ...] FILE.pdf [FILE.pdf ...]");
		System.exit(2);
	}

	// verifier trusts the anchors and nothing else, and has no way to reach the network: no
	// AIA source for missing issuers, no online OCSP or CRL source. DSS judges with what the
	// file carries (its DSS dictionary, the CMS's certificates and revocation values).
	static CommonCertificateVerifier verifier(CommonTrustedCertificateSource anchors) {
		CommonCertificateVerifier v = new CommonCertificateVerifier();
		v.setTrustedCertSources(anchors);
		v.setAIASource(null);
		v.setOcspSource(null);
		v.setCrlSource(null);
		return v;
	}

	static List<CertificateToken> loadCertificates(String path) throws Exception {
		byte[] data = Files.readAllBytes(new File(path).toPath());
		CertificateFactory cf = CertificateFactory.getInstance("X.509");
		Collection<? extends Certificate> certs = cf.generateCertificates(new ByteArrayInputStream(data));
		List<CertificateToken> tokens = new ArrayList<>();
		for (Certificate c : certs) {
			tokens.add(new CertificateToken((X509Certificate) c));
		}
		return tokens;
	}

	// loadPolicy reads a validation policy as DSS reads its default one: no cryptographic suite
	// besides the one in the policy.
	static ValidationPolicy loadPolicy(String path) throws Exception {
		File f = new File(path);
		if (!f.isFile()) {
			throw new IllegalArgumentException("no such file");
		}
		return ValidationPolicyLoader.fromValidationPolicy(f).create();
	}

	static String judge(String path, CommonCertificateVerifier verifier, String policyPath) throws Exception {
		File file = new File(path);
		if (!file.isFile()) {
			throw new IllegalArgumentException("no such file");
		}
		PDFDocumentValidator validator = new PDFDocumentValidator(new FileDocument(file));
		validator.setCertificateVerifier(verifier);
		// No policy given: DSS's default validation policy, with its default cryptographic suite.
		Reports reports = policyPath == null ? validator.validateDocument() : validator.validateDocument(loadPolicy(policyPath));
		XmlSimpleReport simple = reports.getSimpleReportJaxb();
		DiagnosticData diag = reports.getDiagnosticData();

		StringBuilder sigs = new StringBuilder();
		StringBuilder tsps = new StringBuilder();
		Counts counts = new Counts();
		for (XmlToken tok : simple.getSignatureOrTimestampOrEvidenceRecord()) {
			if (tok instanceof XmlSignature) {
				XmlSignature s = (XmlSignature) tok;
				counts.add(s, true);
				StringBuilder nested = new StringBuilder();
				if (s.getTimestamps() != null) {
					for (XmlTimestamp t : s.getTimestamps().getTimestamp()) {
						counts.add(t, false);
						append(nested, timestamp(t, diag));
					}
				}
				append(sigs, "{\"id\":" + str(s.getId())
						+ ",\"format\":" + str(s.getSignatureFormat() == null ? null : s.getSignatureFormat().toString())
						+ ",\"indication\":" + str(name(s.getIndication()))
						+ ",\"sub_indication\":" + str(name(s.getSubIndication()))
						+ ",\"signing_time\":" + time(s.getSigningTime())
						+ ",\"best_signature_time\":" + time(s.getBestSignatureTime())
						+ ",\"signed_by\":" + str(s.getSignedBy())
						+ messages(s.getAdESValidationDetails())
						+ ",\"timestamps\":[" + nested + "]}");
			} else if (tok instanceof XmlTimestamp) {
				counts.add(tok, false);
				append(tsps, timestamp((XmlTimestamp) tok, diag));
			}
		}
		return "{\"file\":" + str(path)
				+ ",\"validation_time\":" + time(simple.getValidationTime())
				+ ",\"policy\":" + str(simple.getValidationPolicy() == null ? null : simple.getValidationPolicy().getPolicyName())
				+ ",\"policy_file\":" + str(policyPath)
				+ ",\"signatures_count\":" + simple.getSignaturesCount()
				+ ",\"valid_signatures_count\":" + simple.getValidSignaturesCount()
				+ ",\"signatures\":[" + sigs + "]"
				+ ",\"timestamps\":[" + tsps + "]"
				+ ",\"counts\":" + counts.json() + "}";
	}

	static String timestamp(XmlTimestamp t, DiagnosticData diag) {
		TimestampWrapper w = diag.getTimestampById(t.getId());
		return "{\"id\":" + str(t.getId())
				+ ",\"type\":" + str(w == null || w.getType() == null ? null : w.getType().name())
				+ ",\"indication\":" + str(name(t.getIndication()))
				+ ",\"sub_indication\":" + str(name(t.getSubIndication()))
				+ ",\"production_time\":" + time(t.getProductionTime())
				+ ",\"produced_by\":" + str(t.getProducedBy())
				+ messages(t.getAdESValidationDetails()) + "}";
	}

	// Counts tallies indications over signatures and timestamps, nested ones included.
	static final class Counts {
		int signatures, timestamps, passed, indeterminate, failed;

		void add(XmlToken t, boolean signature) {
			if (signature) {
				signatures++;
			} else {
				timestamps++;
			}
			String ind = name(t.getIndication());
			if (ind == null) {
				return;
			}
			switch (ind) {
			case "TOTAL_PASSED":
			case "PASSED":
				passed++;
				break;
			case "INDETERMINATE":
				indeterminate++;
				break;
			case "TOTAL_FAILED":
			case "FAILED":
				failed++;
				break;
			default:
				break;
			}
		}

		String json() {
			return "{\"signatures\":" + signatures + ",\"timestamps\":" + timestamps
					+ ",\"passed\":" + passed + ",\"indeterminate\":" + indeterminate + ",\"failed\":" + failed + "}";
		}
	}

	static String messages(XmlDetails d) {
		return ",\"errors\":" + list(d == null ? null : d.getError())
				+ ",\"warnings\":" + list(d == null ? null : d.getWarning())
				+ ",\"infos\":" + list(d == null ? null : d.getInfo());
	}

	static String list(List<XmlMessage> msgs) {
		StringBuilder b = new StringBuilder("[");
		if (msgs != null) {
			for (XmlMessage m : msgs) {
				append(b, "{\"key\":" + str(m.getKey()) + ",\"value\":" + str(m.getValue()) + "}");
			}
		}
		return b.append("]").toString();
	}

	static void append(StringBuilder b, String item) {
		if (b.length() > 0 && b.charAt(b.length() - 1) != '[') {
			b.append(',');
		}
		b.append(item);
	}

	static String name(Enum<?> e) {
		return e == null ? null : e.name();
	}

	static String time(Date d) {
		return d == null ? "null" : str(d.toInstant().toString());
	}

	static String str(String s) {
		if (s == null) {
			return "null";
		}
		StringBuilder b = new StringBuilder("\"");
		for (int i = 0; i < s.length(); i++) {
			char c = s.charAt(i);
			switch (c) {
			case '"':
				b.append("\\\"");
				break;
			case '\\':
				b.append("\\\\");
				break;
			case '\n':
				b.append("\\n");
				break;
			case '\r':
				b.append("\\r");
				break;
			case '\t':
				b.append("\\t");
				break;
			default:
				if (c < 0x20) {
					b.append(String.format("\\u%04x", (int) c));
				} else {
					b.append(c);
				}
			}
		}
		return b.append('"').toString();
	}
}
