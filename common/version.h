/* version: the one version string shown by --version and the API. */
#ifndef WH_VERSION_H
#define WH_VERSION_H

#define WH_VERSION "0.1.0"

#endif
