"""``python -m convlab.bench``: every speed comparison of ``make bench``, one after another."""

from convlab.bench import lenet, members, pairs

if __name__ == "__main__":
    lenet.main([])
    pairs.main([])
    members.main([])
