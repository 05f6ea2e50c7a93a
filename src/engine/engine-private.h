/* What the engine's files share and nobody else uses. */
#ifndef HUSK_ENGINE_PRIVATE_H
#define HUSK_ENGINE_PRIVATE_H

void husk_engine_rm_rf(const char *dir);

#endif
