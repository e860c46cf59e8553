from otter.test_files import test_case

OK_FORMAT = False

name = "p1_1"
points = 2

@test_case(points=None, hidden=False)
def test_p1_1(p1_1):
    from hw5kit import public
    public.check_p1_1(p1_1)

