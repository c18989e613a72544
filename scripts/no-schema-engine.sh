#!/bin/sh
# Stand-in for Prisma's native schema engine on machines that cannot download it.
# `prisma generate` only checks that the engine file exists; anything that really needs
# the engine (migrate dev/deploy, db push) ends here with a clear message instead.
echo "Prisma's native schema engine is not installed here. Use 'npm run db:migrate' to apply migrations and 'npm run db:diff' to write new ones." >&2
exit 1
