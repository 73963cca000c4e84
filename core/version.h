/* version.h — nndl's version, for the program (--version) and the library (nndl_version). */
#ifndef NNDL_VERSION_H
#define NNDL_VERSION_H

#define NNDL_VERSION "0.3.0"

#endif
