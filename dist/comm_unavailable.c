/* comm_unavailable.c — comm_world for a build without MPI: one process, and a message on how
 * to build with MPI when a launcher started several (each would otherwise train alone). */
#include <stddef.h>

#include "comm.h"
#include "error.h"

Comm *comm_world(int required)
{
    if (required || comm_launched()) {
        nndl_fail("this nndl was built without MPI, so it cannot train on several processes: install an MPI "
                  "(Debian: apt install libopenmpi-dev openmpi-bin), rebuild with `make MPI=1`, and start it with "
                  "`mpirun -np N ./nndl train ...`");
        return NULL;
    }
    return comm_single();
}

const char *comm_mpi_version(void) { return NULL; }
