/* File paths, in the two meanings the project needs, and folders.
 *
 * path_resolve: a path written in a config or job file, relative to that
 * file's folder, tidied. path_os_join: Python's os.path.join, which is how
 * LLaVA's scripts build image paths from a question file's names (no tidying:
 * the answers must name the same file the same way). */
#ifndef HL_PATH_H
#define HL_PATH_H

/* dir/p, or p itself when p is absolute (malloc'd). The result is tidied:
 * no "." components or repeated slashes, and "name/.." pairs removed where
 * name is a real directory (not a symbolic link, whose ".." leads elsewhere). */
char *path_resolve(const char *dir, const char *p);
/* os.path.join(dir, name): name itself when absolute or dir is NULL/empty. */
char *path_os_join(const char *dir, const char *name);
/* The folder part of a path ("." when none), malloc'd. */
char *path_dirname(const char *path);
/* The file name without folder and last extension: "demo" for
 * "weights/demo.h5" (malloc'd). */
char *path_stem(const char *path);
/* mkdir -p; fails naming the folder. */
void path_mkdirs(const char *dir);
/* mkdir -p of the folder holding the file `path`. */
void path_make_parents(const char *path);

#endif
