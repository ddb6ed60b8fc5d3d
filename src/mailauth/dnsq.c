/* dnsq: names of the shared DNS question/answer values, for logs. */
#include "dnsq.h"

const char *dnsq_type_name(int type)
{
	switch (type) {
	case DNSQ_A:
		return "A";
	case DNSQ_PTR:
		return "PTR";
	case DNSQ_MX:
		return "MX";
	case DNSQ_TXT:
		return "TXT";
	case DNSQ_AAAA:
		return "AAAA";
	case DNSQ_TLSA:
		return "TLSA";
	}
	return "?";
}

const char *dnsq_rcode_name(enum dnsq_rcode rcode)
{
	switch (rcode) {
	case DNSQ_OK:
		return "ok";
	case DNSQ_NXDOMAIN:
		return "nxdomain";
	case DNSQ_NODATA:
		return "nodata";
	case DNSQ_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}
